"""Business time (DOMAIN.md, "business time"): when a command says it happened.

An agent's own commands carry the server's time (the API stamps them); an HQ command may
carry its own, but not ahead of the server's clock beyond a small skew. No command may be
dated before the agent it speaks of joined, before the product it sells was listed, or
before the sale it returns: the replay of settlement (domain/settlement/history.py, the
export's verifier) then never meets a fact older than the facts it rests on.
"""
