"""What every channel shares: the per-person queue and flood gate, the exactly-once check,
the message memory behind /exit, delivery of the orchestrator's replies, clean-as-you-go, the
field workers' dialogues, the media policy and text splitting.

A channel is only its platform adapter: it reads the platform's payloads into `inbound.Said`
and friends, and implements `transport.Transport` (send a text, send a prompt, settle an
answered prompt, delete messages, acknowledge a press). Ids are strings on every platform.
"""
