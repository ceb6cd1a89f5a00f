"""Pictures of SlateRec steps, drawn from render states with numpy (no pygame, no GL).

A render state is a 1-D float64 array of ``HEADER + 3 * K + T`` values (``K`` the slate
size, ``T`` the number of topics), self-describing so a renderer needs only the env id:

- header: ``K``, ``T``, chosen slot (-1: no click), remaining budget / initial budget,
  watch time of the step (minutes), longest document (minutes);
- the slate's topics (``K``; -1 before the first step), true qualities (``K``, in
  [-1, 1]) and clickbait flags (``K``, 0/1);
- the user's interests after the step (``T``, in [-1, 1]).

The frame: a budget bar on top (full: the initial budget; green: more than that); the
slate's items as boxes coloured by topic, each with a quality bar (its height grows with
quality; green for good, red for bad) and a yellow-black striped band if it is
clickbait; the clicked item framed in white with its watch time as a white bar beneath
(a dim red strip when nothing was clicked); and the user's interests as a bar chart
around a zero line, one bar per topic in its colour.
"""

from __future__ import annotations

import numpy as np

from feedback.errors import FeedbackError
from rlhf_envs.clips import ClipRenderer

HEADER = 6
BACKGROUND = np.array([24, 24, 32], np.uint8)
WHITE, DIM = np.array([255, 255, 255], np.uint8), np.array([70, 70, 80], np.uint8)
GOOD, BAD = np.array([60, 220, 90], np.uint8), np.array([235, 60, 50], np.uint8)
YELLOW, BUDGET = np.array([250, 210, 30], np.uint8), np.array([60, 200, 230], np.uint8)


def render_state_size(slate_size: int, num_topics: int) -> int:
    """Length of a SlateRec render state."""
    return HEADER + 3 * slate_size + num_topics


def topic_colours(num_topics: int) -> np.ndarray:
    """``(num_topics, 3)`` uint8 colours of evenly spaced hues (HSV with s=0.7, v=0.9)."""
    hue = np.arange(num_topics) / max(num_topics, 1) * 6.0
    k = (np.array([5.0, 3.0, 1.0]) + hue[:, None]) % 6.0
    rgb = 0.9 * (1.0 - 0.7 * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0))
    return (rgb * 255).astype(np.uint8)


class SlateRecClipRenderer(ClipRenderer):
    """Draws SlateRec frames ``(height, width, 3)`` uint8 from render states."""

    def __init__(self, env_id: str, width: int = 128, height: int = 128) -> None:
        super().__init__(env_id, width, height)
        if min(self.width, self.height) < 32:
            raise FeedbackError(f"frames must be at least 32x32, got {self.width}x{self.height}")
        self._palettes: dict[int, np.ndarray] = {}

    def draw(self, render_state: np.ndarray) -> np.ndarray:
        """One frame ``(height, width, 3)`` uint8 of one render state (laid out above)."""
        state = np.asarray(render_state, dtype=np.float64)
        if state.ndim != 1 or len(state) < HEADER:
            raise FeedbackError(f"a SlateRec render state is 1-D, got shape {state.shape}")
        k, t = int(state[0]), int(state[1])
        if k < 1 or t < 1 or len(state) != render_state_size(k, t):
            raise FeedbackError(
                f"render state of length {len(state)} does not fit its header "
                f"(slate size {k}, {t} topics)"
            )
        if t not in self._palettes:
            self._palettes[t] = topic_colours(t)
        palette = self._palettes[t]
        chosen, budget, watch, longest = state[2:HEADER]
        topics = state[HEADER:HEADER + k]
        quality = np.clip(state[HEADER + k:HEADER + 2 * k], -1.0, 1.0)
        bait = state[HEADER + 2 * k:HEADER + 3 * k] > 0.5
        interests = np.clip(state[HEADER + 3 * k:], -1.0, 1.0)

        h, w = self.height, self.width
        m = max(1, min(h, w) // 32)  # margin
        band = max(2, h // 16)
        img = np.empty((h, w, 3), np.uint8)
        img[:] = BACKGROUND

        # Budget: the full bar is the initial budget (green when the user has more).
        img[m:m + band, m:w - m] = DIM
        fill = round((w - 2 * m) * min(max(budget, 0.0), 1.0))
        img[m:m + band, m:m + fill] = GOOD if budget > 1.0 else BUDGET

        # Slate boxes.
        top, bottom = m + band + 2 * m, int(h * 0.56)
        edges = np.linspace(m, w - m, k + 1).round().astype(int)
        for slot in range(k):
            a, b = edges[slot] + m, edges[slot + 1] - m
            if b - a < 3:
                a, b = edges[slot], max(edges[slot + 1], edges[slot] + 3)
            box = img[top:bottom, a:b]
            if topics[slot] < 0:  # before the first step: empty slots
                box[:] = DIM
                continue
            box[:] = WHITE if slot == chosen else palette[int(topics[slot]) % t] // 2
            inset = max(1, m) if slot == chosen else 0
            inner = box[inset:box.shape[0] - inset, inset:box.shape[1] - inset]
            inner[:] = palette[int(topics[slot]) % t]
            if bait[slot]:
                stripe = max(2, band // 2)
                yy, xx = np.mgrid[:min(band, inner.shape[0]), :inner.shape[1]]
                inner[:band][(yy + xx) // stripe % 2 == 0] = YELLOW
                inner[:band][(yy + xx) // stripe % 2 == 1] = 0
            bh, bw = inner.shape[0] - band - 2 * m, max(2, inner.shape[1] // 4)
            bx = inner.shape[1] - bw - m
            bar = inner[band + m:band + m + bh, max(bx, 0):max(bx, 0) + bw]
            bar[:] = 0  # a black frame keeps the bar visible on any topic colour
            bar = bar[1:-1, 1:-1]
            fill = round(bar.shape[0] * (quality[slot] + 1.0) / 2.0)
            if fill > 0:
                bar[bar.shape[0] - fill:] = GOOD if quality[slot] >= 0 else BAD

        # Watch time under the clicked item, or a dim red strip for no click.
        row = slice(bottom + m, bottom + m + band)
        if chosen >= 0:
            a, b = edges[int(chosen)] + m, edges[int(chosen) + 1] - m
            img[row, a:a + round((b - a) * min(watch / max(longest, 1e-9), 1.0))] = WHITE
        elif topics[0] >= 0:
            img[row, m:w - m] = BAD // 3

        # Interests: one bar per topic around a zero line.
        top, bottom = bottom + band + 3 * m, h - m
        zero = (top + bottom) // 2
        half = (bottom - top) // 2
        edges = np.linspace(m, w - m, t + 1).round().astype(int)
        gap = 1 if (w - 2 * m) // t >= 4 else 0
        for topic in range(t):
            a, b = edges[topic] + gap, max(edges[topic + 1] - gap, edges[topic] + 1)
            size = round(half * abs(interests[topic]))
            rows = slice(zero - size, zero) if interests[topic] > 0 else slice(zero, zero + size)
            img[rows, a:b] = palette[topic]
        img[zero, m:w - m] = WHITE
        return img
