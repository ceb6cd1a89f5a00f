"""The reward model: an ensemble of small MLPs fitted with a Bradley-Terry loss.

:mod:`.model` holds :class:`RewardModel` (fitting in torch); :mod:`.folded` its numpy
forward pass for the env loop; :mod:`.features` the inputs it reads from gymnasium
spaces; :mod:`.files` its files (safetensors plus a JSON card); :mod:`.evaluation` the
held-out split, agreement and :class:`FitReport`.
"""

from feedback.reward_model.evaluation import FitReport
from feedback.reward_model.model import RewardModel

__all__ = ["FitReport", "RewardModel"]
