"""The channel seam: what a flow needs from a chat channel, and nothing of any one channel.

A feature written against the seam receives a `Turn` (who wrote, what they wrote or pressed,
their open dialog) and answers with `View`s: locale keys with parameters, and buttons naming
actions. A channel brings two things: an adapter (a `Turn` subclass that sends a view the way
its platform can) and a renderer (views to its messages). Telegram's are in
handlers/channel/telegram.py; tests/channel_plain.py is a second, plain-text channel that
drives the quick report through the same code.

Outbox rows are addressed the same way, by (channel, address), and carry a locale key and
parameters that each channel's delivery renders at send time.
"""
