# coder_scale: PGXS build of the extension, plus the coder-scale client.
#
#   make                  build the extension and the client
#   make install          install the extension into the server pg_config names
#   make installcheck     run the pgTAP tests through pg_regress (server must run)
#   make prove            run the same tests through pg_prove
#
# The extension's install script is assembled from sql/parts/*.sql (in name
# order), so each concern keeps its own SQL file beside its C file.  Released
# versions stay in sql/ as shipped: sql/coder_scale--0.1.0.sql, and one
# upgrade script per step (sql/coder_scale--0.1.0--0.2.0.sql).  Every change
# to the parts goes into the current step's upgrade script too; the upgrade
# test (test/upgrade/run.sh) proves the two give the same catalog.

EXTENSION   = coder_scale
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = coder_scale
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

SQL_PARTS   = $(sort $(wildcard sql/parts/*.sql))
# The current version is built from the parts; released versions and the
# upgrade scripts between them are kept as they shipped (never edited).
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

# pgTAP tests: test/sql/*.sql with their pg_regress output in test/expected/.
# Both pg_regress (it feeds each file to psql on stdin) and pg_prove run
# from this folder, so the tests \i their helpers as test/lib/*.psql.
TESTS       = $(sort $(wildcard test/sql/*.sql))
REGRESS     = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --outputdir=. --load-extension=pgtap

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -Isrc
# -Wno-unused-parameter: PostgreSQL's own headers (ilist.h, bufpage.h) trip it.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK  = -lm
EXTRA_CLEAN = results regression.diffs regression.out

# JIT bitcode needs clang-14; nothing here benefits from it.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: client

$(DATA_built): $(SQL_PARTS) $(EXTENSION).control
	@{ printf -- '-- %s version %s, assembled from sql/parts by make: edit those files.\n' \
	     $(EXTENSION) $(EXTVERSION); \
	   printf '\\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \\quit\n'; \
	   for f in $(SQL_PARTS); do printf '\n-- ==== %s ====\n' $$f; cat $$f; done; } > $@

.PHONY: client prove

client:
	$(MAKE) -C client

prove:
	pg_prove --failures --ext .sql test/sql/

clean: clean-client
clean-client:
	$(MAKE) -C client clean

# the local coderd stand-in (standin/coder-standin); not installed, scripts run it in place
all: standin
standin:
	$(MAKE) -C standin
clean: clean-standin
clean-standin:
	$(MAKE) -C standin clean
.PHONY: standin clean-standin

install: install-client
install-client: client
	$(MAKE) -C client install
.PHONY: install-client clean-client
