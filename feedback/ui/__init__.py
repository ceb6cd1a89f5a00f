"""What a person sees: the pygame viewer, the demonstration player and the labeling sessions.

The viewer is :mod:`.viewer`, the demonstration player :mod:`.demo_player`, and the
labeling sessions that feed them :mod:`.sessions`. Importing this package does not import
pygame; its modules do.
"""
