"""Reading pickles without unpickling them: the opcode table, and an inert evaluator that
turns a pickle into plain values (never importing or calling anything it names)."""
