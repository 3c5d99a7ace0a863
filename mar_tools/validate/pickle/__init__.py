"""The pickle scanner: reads pickle opcodes (plain pickles, torch zip, torch's legacy
formats) and judges every global they import and call by an allowlist, without ever
unpickling (the policy: docs/security.md)."""
