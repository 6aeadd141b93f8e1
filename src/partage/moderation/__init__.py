"""Trust and safety: notices, decisions and statements of reasons, complaints, strikes,
staydown banks, malware scanning, the audit log and the transparency report."""
