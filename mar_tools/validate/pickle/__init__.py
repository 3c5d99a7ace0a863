"""The pickle scanner: reads pickle opcodes (plain, torch zip and legacy ``torch.save``
files) and judges the globals they import and call, without ever unpickling."""
