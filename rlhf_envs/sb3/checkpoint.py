"""Agent checkpoints: Stable-Baselines3 agents as safetensors plus JSON, never pickle.

SB3's ``save``/``load``/``load_replay_buffer`` unpickle, so a checkpoint here is a directory:
``tensors.safetensors`` holds every tensor and array under a flattened key path (e.g.
``policy/actor.mu.weight``, ``actor.optimizer/state/3/exp_avg``, ``replay_buffer/rewards``);
``state.json`` the rest, with ``{"__tensor__": key}`` placeholders, plus counters, algorithm
class, the data form of the policy's ``policy_kwargs`` (:mod:`rlhf_envs.policies`), format
version and the tensors' sha256. An agent whose observations SB3's ``VecNormalize``
normalises (:mod:`rlhf_envs.sb3.obs_normalization`) keeps its statistics there too, so a
resumed run goes on from them and :func:`load_policy` acts on raw observations with them.
Format version 1 (without those two) is still read. A save is written to ``<dir>.new/`` and
swapped in by renames (``<dir>`` -> ``<dir>.old``, ``<dir>.new`` -> ``<dir>``, remove
``<dir>.old``), so a crash never leaves half a checkpoint in place of a whole one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import deque
from operator import attrgetter
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer
from stable_baselines3.common.policies import BasePolicy

from feedback.errors import FeedbackError
from feedback.files import check_format, find_complete, siblings, swap_in, write_json
from rlhf_envs.policies import agent_policy, policy_kwargs_to_data
from rlhf_envs.sb3.obs_normalization import (
    NormalizedObsPolicy,
    check_obs_statistics,
    fitting_obs_statistics,
    load_obs_statistics,
    obs_normalization_of,
    obs_statistics,
)

FORMAT = "rlhf-envs-agent-checkpoint"
FORMAT_VERSION = 2  # 2: policy_kwargs and obs_normalization (1 had neither)
STATE_FILE, TENSORS_FILE = "state.json", "tensors.safetensors"
COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_num_timesteps_at_start",
            "_total_timesteps", "_n_calls", "_current_progress_remaining")
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def _encode(obj, path: str, tensors: dict[str, torch.Tensor]):
    """JSON-able copy of ``obj``; tensors and arrays go to ``tensors`` under their path."""
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        key = path
        while key in tensors:  # a dotted name that collides with a nested one
            key += "~"
        if isinstance(obj, np.ndarray):  # a view on the buffer: no copy
            tensors[key] = torch.from_numpy(np.ascontiguousarray(obj))
        else:  # a copy, so no two entries share memory (safetensors refuses that)
            tensors[key] = obj.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, f"{path}/{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[_encode(k, "", tensors), _encode(v, f"{path}/{k}", tensors)]
                              for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint {type(obj).__name__} at {path}")


def _decode(obj, tensors):
    """Inverse of :func:`_encode`; ``tensors`` maps keys to tensors (or is a safe_open file)."""
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors.get_tensor(obj["__tensor__"])
    if "__tuple__" in obj:
        return tuple(_decode(v, tensors) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__items__"]}
    return {k: _decode(v, tensors) for k, v in obj.items()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _buffer_state(buffer: ReplayBuffer, tensors: dict) -> dict:
    if type(buffer) not in (ReplayBuffer, DictReplayBuffer):
        raise TypeError(f"cannot checkpoint a {type(buffer).__name__} (only plain replay buffers)")
    filled = buffer.buffer_size if buffer.full else buffer.pos
    # With optimize_memory_usage the last next-observation sits one row past the filled part.
    rows = min(filled + 1, buffer.buffer_size) if buffer.optimize_memory_usage else filled
    arrays = {}
    for name in BUFFER_ARRAYS:
        value = getattr(buffer, name, None)
        if value is not None:
            n = rows if name == "observations" else filled
            value = {k: v[:n] for k, v in value.items()} if isinstance(value, dict) else value[:n]
            arrays[name] = _encode(value, f"replay_buffer/{name}", tensors)
    return {"class": type(buffer).__name__, "buffer_size": buffer.buffer_size,
            "n_envs": buffer.n_envs, "optimize_memory_usage": buffer.optimize_memory_usage,
            "pos": buffer.pos, "full": buffer.full, "arrays": arrays}


def save_agent(agent: BaseAlgorithm, directory: str | os.PathLike) -> Path:
    """Checkpoint ``agent``'s training state into ``directory`` (replacing any there).

    Saved: ``agent.get_parameters()`` (networks and optimizers), the extra torch variables
    (SAC's ``log_ent_coef``), the step/update/episode counters, recent episode stats, the
    policy's ``policy_kwargs`` (as data), the observation statistics of a ``VecNormalize``
    in the agent's env and, for off-policy agents, the filled part of the replay buffer.
    Returns the directory.
    Leftovers of an interrupted save are settled first; a ``directory`` holding anything but
    a checkpoint raises :class:`FeedbackError` rather than being replaced.
    """
    directory = Path(directory)
    new, old = siblings(directory)
    if directory.exists() and (not directory.is_dir() or {
            p.name for p in directory.iterdir()} - {STATE_FILE, TENSORS_FILE}):
        raise FeedbackError(f"{directory} exists and is not an agent checkpoint; not replacing it")
    if directory.is_dir() and not (directory / STATE_FILE).is_file():
        shutil.rmtree(directory)  # a tensors file alone: not a checkpoint yet
    # Finish a swap that a crash interrupted, then clear the leftovers.
    if not directory.exists() and (found := find_complete(directory, STATE_FILE)) is not None:
        os.replace(found, directory)
    for leftover in (new, old):
        shutil.rmtree(leftover, ignore_errors=True)

    tensors: dict[str, torch.Tensor] = {}
    names = agent._get_torch_save_params()[1]
    buffer = getattr(agent, "replay_buffer", None)
    stats = {name: None if getattr(agent, name, None) is None else list(getattr(agent, name))
             for name in ("ep_info_buffer", "ep_success_buffer")}
    vec_normalize = obs_normalization_of(agent)
    state = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "algorithm": type(agent).__name__,
        "counters": {k: getattr(agent, k) for k in COUNTERS if hasattr(agent, k)},
        "parameters": {n: _encode(v, n, tensors) for n, v in agent.get_parameters().items()},
        "variables": {n: _encode(attrgetter(n)(agent), n, tensors) for n in names},
        "replay_buffer": None if buffer is None else _buffer_state(buffer, tensors),
        "episode_stats": _encode(stats, "episode_stats", tensors),
        "policy_kwargs": _encode(policy_kwargs_to_data(agent.policy_kwargs), "policy_kwargs",
                                 tensors),
        "obs_normalization": None if vec_normalize is None
        else _encode(obs_statistics(vec_normalize), "obs_normalization", tensors),
    }
    new.mkdir(parents=True)
    save_file(tensors, new / TENSORS_FILE, metadata={"format": FORMAT})
    with open(new / TENSORS_FILE, "rb+") as f:
        os.fsync(f.fileno())
    state["tensors_sha256"] = _sha256(new / TENSORS_FILE)
    write_json(new / STATE_FILE, state)  # last: its presence means complete
    swap_in(directory)
    return directory


def _check_fits(agent: BaseAlgorithm, params: dict, where: str) -> None:
    """Raise a one-line error where saved shapes differ from the agent's (other settings?)."""
    for name, current in agent.get_parameters().items():
        saved = params.get(name)
        if not isinstance(saved, dict):
            raise FeedbackError(f"{where}: no saved state for {name}")
        if "param_groups" not in current:  # a module
            for key in [*current, *(k for k in saved if k not in current)]:
                a, b = current.get(key), saved.get(key)
                if a is None or b is None or tuple(a.shape) != tuple(b.shape):
                    raise FeedbackError(
                        f"{where}: {name}.{key} is {None if b is None else list(b.shape)} there "
                        f"but {None if a is None else list(a.shape)} here "
                        "(built with other hyperparameters?)")
            continue
        shapes = [p.shape for g in attrgetter(name)(agent).param_groups for p in g["params"]]
        ids = [i for g in saved["param_groups"] for i in g["params"]]
        sizes = [[len(g["params"]) for g in d["param_groups"]] for d in (saved, current)]
        bad = sizes[0] != sizes[1] or any(
            torch.is_tensor(v) and v.dim() > 0 and v.shape != shapes[ids.index(i)]
            for i, s in saved["state"].items() for v in s.values())
        if bad:
            raise FeedbackError(f"{where}: optimizer {name} does not fit this agent's parameters")


def _buffer_pairs(target, saved):
    """(array of the live buffer, tensor key) pairs; KeyError where the layout differs."""
    if isinstance(target, dict):
        for k in target.keys() | saved.keys():
            yield from _buffer_pairs(target[k], saved[k])
    else:
        yield target, saved["__tensor__"]


def _read(directory: str | os.PathLike) -> tuple[Path, dict, str]:
    """Find and check a checkpoint: ``(its directory, state, name for messages)``."""
    directory = Path(directory)
    where = f"agent checkpoint {directory}"
    found = find_complete(directory, STATE_FILE)
    if found is None:
        raise FeedbackError(f"{where}: not found (no {STATE_FILE} there)")
    try:
        state = json.loads((found / STATE_FILE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FeedbackError(f"{where}: {STATE_FILE} is not readable JSON ({err})") from None
    check_format(f"{where}: {STATE_FILE}", state, FORMAT, FORMAT_VERSION)
    tensors_path = found / TENSORS_FILE
    if not tensors_path.is_file() or _sha256(tensors_path) != state.get("tensors_sha256"):
        raise FeedbackError(f"{where}: {TENSORS_FILE} is missing, truncated or altered")
    return found, state, where


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def restore_agent(agent: BaseAlgorithm, directory: str | os.PathLike) -> None:
    """Load a :func:`save_agent` checkpoint into ``agent``, built as the saved one was.

    Restores networks, optimizers, torch variables, counters, episode stats, the replay
    buffer and the observation statistics of the agent's ``VecNormalize`` (the agent must
    have one if and only if the saved one had); env episodes restart, so continue with
    ``learn(..., reset_num_timesteps=False)``.
    If ``directory`` is missing but a complete ``<dir>.new`` exists (a crash in mid-swap),
    that is read; failing that, ``<dir>.old``. Nothing changes in ``agent`` unless all checks
    pass. Raises :class:`FeedbackError` for a missing, damaged, newer or unfitting checkpoint.
    """
    found, state, where = _read(directory)
    if state.get("algorithm") != type(agent).__name__:
        raise FeedbackError(f"{where} holds a {state.get('algorithm')} agent, "
                            f"not a {type(agent).__name__}")
    try:
        with safe_open(found / TENSORS_FILE, framework="pt") as tensors:
            _restore(agent, state, tensors, where)
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError,
            SafetensorError) as err:
        if isinstance(err, FeedbackError):
            raise
        raise FeedbackError(f"{where}: does not fit this agent ({_first_line(err)})") from None


def load_policy(directory: str | os.PathLike,
                env: gym.Env) -> BasePolicy | NormalizedObsPolicy:
    """The policy of a PPO or SAC checkpoint, for acting in ``env`` (no training state).

    Used to roll out a trained agent, e.g. for labeling sessions and benchmarks. The
    policy is built as :func:`~rlhf_envs.policies.agent_policy` builds it in that env,
    with the checkpoint's ``policy_kwargs``. An agent trained on normalised observations
    comes back as a :class:`~rlhf_envs.sb3.obs_normalization.NormalizedObsPolicy`: it
    acts on ``env``'s raw observations, normalised by the saved statistics (frozen), as
    the agent acted in training; any other as its policy network.
    """
    found, state, where = _read(directory)
    saved_kwargs = state.get("policy_kwargs") or {}

    def build(algo: type[BaseAlgorithm], **kwargs) -> BaseAlgorithm:
        policy, policy_kwargs = agent_policy(env, algo.__name__, _decode(saved_kwargs, None))
        return algo(policy, env, device="cpu", policy_kwargs=policy_kwargs or None, **kwargs)

    builders = {"PPO": lambda: build(PPO), "SAC": lambda: build(SAC, buffer_size=1)}
    if state.get("algorithm") not in builders:
        raise FeedbackError(f"{where} holds a {state.get('algorithm')} agent; "
                            "policies of PPO and SAC can be loaded")
    policy = builders[state["algorithm"]]().policy
    try:
        with safe_open(found / TENSORS_FILE, framework="pt") as tensors:
            policy.load_state_dict(_decode(state["parameters"]["policy"], tensors))
            obs_stats = _obs_statistics(state.get("obs_normalization"), tensors)
    except (KeyError, RuntimeError, SafetensorError) as err:
        raise FeedbackError(f"{where}: does not fit {env.spec.id if env.spec else 'this env'} "
                            f"({_first_line(err)})") from None
    policy.set_training_mode(False)
    if obs_stats is None:
        return policy
    return NormalizedObsPolicy(
        policy, check_obs_statistics(obs_stats, env.observation_space.shape, where))


def _obs_statistics(saved: dict | None, tensors) -> dict | None:
    """The saved observation statistics, arrays as numpy (None: none were saved)."""
    if saved is None:
        return None
    decoded = _decode(saved, tensors)
    return {k: v.numpy() if torch.is_tensor(v) else v for k, v in decoded.items()}


def _restore(agent: BaseAlgorithm, state: dict, tensors, where: str) -> None:
    params = _decode(state["parameters"], tensors)
    _check_fits(agent, params, where)
    if "policy_kwargs" in state:  # format version 2
        saved, mine = _decode(state["policy_kwargs"], tensors), policy_kwargs_to_data(
            agent.policy_kwargs)
        if saved != mine:
            raise FeedbackError(f"{where}: saved with policy_kwargs {saved}, this agent has "
                                f"{mine}")
    vec_normalize, saved_obs = obs_normalization_of(agent), state.get("obs_normalization")
    if (vec_normalize is None) != (saved_obs is None):
        raise FeedbackError(
            f"{where}: saved {'without' if saved_obs is None else 'with'} observation "
            f"normalisation, but this agent's observations are "
            f"{'normalised' if saved_obs is None else 'not'}")
    obs_stats = None if saved_obs is None else fitting_obs_statistics(
        vec_normalize, _obs_statistics(saved_obs, tensors), where)
    variables = {n: _decode(v, tensors) for n, v in state["variables"].items()}
    if set(variables) != set(agent._get_torch_save_params()[1]) or any(
            attrgetter(n)(agent).shape != v.shape for n, v in variables.items()):
        raise FeedbackError(f"{where}: saved variables {sorted(variables)} do not fit this agent")
    saved_buffer, buffer = state["replay_buffer"], getattr(agent, "replay_buffer", None)
    pairs = []
    if buffer is not None or saved_buffer is not None:
        mine = None if buffer is None else [type(buffer).__name__, buffer.buffer_size,
                                            buffer.n_envs, buffer.optimize_memory_usage]
        settings = ("class", "buffer_size", "n_envs", "optimize_memory_usage")
        if mine != (saved_buffer and [saved_buffer[k] for k in settings]):
            raise FeedbackError(f"{where}: replay buffer settings differ from this agent's")
        for name, saved in saved_buffer["arrays"].items():
            pairs += list(_buffer_pairs(getattr(buffer, name), saved))
        for target, key in pairs:
            shape = tuple(tensors.get_slice(key).get_shape())
            if shape[1:] != target.shape[1:] or shape[0] > target.shape[0]:
                raise FeedbackError(f"{where}: replay buffer {key} does not fit this agent")

    # All checked: from here on the agent changes.
    agent.set_parameters(params, exact_match=True)
    if obs_stats is not None:
        load_obs_statistics(vec_normalize, obs_stats, where)
    with torch.no_grad():
        for name, value in variables.items():
            attrgetter(name)(agent).copy_(value)
    for target, key in pairs:
        array = tensors.get_tensor(key).numpy()
        target[: len(array)] = array
    if buffer is not None:
        buffer.pos, buffer.full = int(saved_buffer["pos"]), bool(saved_buffer["full"])
    for key, value in state["counters"].items():
        if key in COUNTERS and hasattr(agent, key):
            setattr(agent, key, value)
    for name, entries in _decode(state["episode_stats"], tensors).items():
        if entries is not None:
            setattr(agent, name, deque(entries, maxlen=agent._stats_window_size))
