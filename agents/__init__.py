"""Training Stable-Baselines3 agents on a learned reward: the RLHF loop and its command line.

``python -m agents.train`` (:mod:`.train`) runs :func:`agents.loop.run`. The options and
their checks are in :mod:`.config`, the default hyper-parameters in :mod:`.hyperparams`,
the feedback steps in :mod:`.reward_learning` and :mod:`.teachers`, and the run
directory's checkpoint and outputs in :mod:`.run_dir` and :mod:`.report`.
"""
