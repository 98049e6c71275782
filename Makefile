# Reactivation CRM: the commands a newcomer needs (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint fmt lock messages clean

install: $(STAMP) .env

# The venv is rebuilt from the lock whenever the lock changes; every install uses the hashes.
$(STAMP): requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	@touch $(STAMP)

# A development checkout's settings; production passes its own environment and has no .env.
.env:
	@printf '# Development settings written by make install; production sets these in its environment.\nDJANGO_DEBUG=1\nSECRET_KEY=%s\n' "$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo --if-empty
	@echo ""
	@echo "Reactivation CRM: http://127.0.0.1:8000/  (Ctrl+C stops it)"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-resolve the locks after editing pyproject.toml (needs pip-tools in the venv).
lock: install
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --generate-hashes -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --generate-hashes --extra dev -o requirements-dev.lock pyproject.toml

# Refresh the catalogues from the code, then compile them (needs gettext's msgfmt).
messages: install
	$(BIN)/python manage.py makemessages -l ru -l en --ignore=.venv --ignore=static --ignore=benchmarks --no-location
	$(BIN)/python manage.py compilemessages --ignore=.venv -v 0

clean:
	rm -rf $(VENV) db.sqlite3 media
