"""The wire contract: request and response models shared by the server, the SDK and the docs.

Imports no server code. Field order here is the order of keys in responses.
"""
