"""The feedback loop on text: prompt -> completion tasks with Hugging Face models and TRL.

Optional: needs the ``text`` extra (``pip install -e .[text]``: transformers, trl,
datasets). ``import agents`` does not import this package. Pieces:
:mod:`.tasks` (prompts and hidden scoring rules), :mod:`.models` (loading LMs offline, a
tiny GPT-2), :mod:`.generation` (seeded sampling), :mod:`.reward_model` (a frozen encoder
and an ensemble of Bradley-Terry heads), :mod:`.rows` (TRL preference rows to and from
a store), :mod:`.trainers` (TRL's Reward, DPO and GRPO trainers) and :mod:`.loop` (the
``python -m agents.text`` run).
"""
