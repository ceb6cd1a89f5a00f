"""What a person sees: the viewer, the demonstration player, the notebook widget.

And the labeling sessions that feed them.

The viewer is :mod:`.viewer` (its layout :mod:`.layout`, drawing :mod:`.viewer_draw`,
keys :mod:`.viewer_input`, words :mod:`.viewer_text`), the demonstration player
:mod:`.demo_player`, the Jupyter front end :mod:`.notebook`; the labeling sessions are
:mod:`.sessions` (on :mod:`.prepared`), and what front ends and sessions exchange is
:mod:`.pairs` (questions, honest counts, the domain's :class:`~.pairs.ClipGuide`).
Importing this package does not import pygame; its modules (but :mod:`.pairs`,
:mod:`.viewer_text` and :mod:`.notebook`) do.
"""
