# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The extras installed into the venv; CI adds text and team: EXTRAS=dev,text,team. Each
# set of extras has its own stamp, so asking for other extras installs them.
EXTRAS ?= dev
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

export SDL_VIDEODRIVER ?= dummy
export MUJOCO_GL ?= egl

.PHONY: install test test-slow lint demo benchmarks clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

# A short real RLHF run on CPU: the true-reward baseline, then PPO on a reward model
# learned from 200 oracle labels, same steps and seed; prints where the report is.
DEMO_OUT ?= runs/demo
demo: $(STAMP)
	$(BIN)/python -m agents.train --env Reacher-v0 --true-reward --timesteps 98304 \
		--device cpu --out $(DEMO_OUT)/true_reward
	$(BIN)/python -m agents.train --env Reacher-v0 --teacher oracle --labels 200 \
		--timesteps 98304 --device cpu --out $(DEMO_OUT)/learned \
		--baseline $(DEMO_OUT)/true_reward

benchmarks: $(STAMP)
	$(BIN)/python -m benchmarks.reward_model
	$(BIN)/python -m benchmarks.throughput

clean:
	rm -rf $(VENV) .pytest_cache
