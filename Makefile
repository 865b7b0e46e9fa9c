# questlog — build, test, run.
#
#   make            build ./questlog (and the SQLite extension)
#   make deps       install missing Debian packages and the Node test readers
#   make test       deps + build with -Wall -Wextra -Werror + every test (TAP via prove)
#   make test SAN=1 the same under ASan+UBSan
#   make run        deps + build + `questlog up`
#
# Every src/*.c except main.c goes into build/libquestlog.a; each
# tests/unit/test_*.c becomes build/tests/test_*.t; each tests/fuzz/fuzz_*.c
# becomes a libFuzzer binary (clang) under build/fuzz/; each tests/tools/*.c a
# helper program under build/tools/ for the shell tests.

VERSION  := 0.1.0
BUILD    := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

CC       ?= cc
SAN      ?=
O        := build$(if $(SAN),-san)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -pthread -D_GNU_SOURCE \
            -DH2O_USE_LIBUV=0 -DQL_VERSION='"$(VERSION)"' -DQL_BUILD='"$(BUILD)"' \
            -Isrc -I$(O)
ifneq ($(SAN),)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
LIBS     := -lh2o-evloop -lssl -lcrypto -lrdkafka -lsqlite3 -lzstd -lsnappy -ljansson -lz -lm -lpthread
# The questlog binary links SQLite, jansson and snappy (with the parts of
# libstdc++ snappy uses) from the Debian -dev packages' static archives: every
# command, `query` above all, starts ~40 % fewer instructions sooner (ld.so no
# longer maps those libraries and binds ~3 300 of their symbols at each exec;
# h2o, OpenSSL and librdkafka stay shared — h2o's .so needs OpenSSL's anyway),
# and SQLite's per-row calls go without the PLT. The tests keep $(LIBS).
# (libstdc++.a: Debian's libstdc++-12-dev, in tools/deps.sh.)
QL_LIBS  := -lh2o-evloop -lssl -lcrypto -lrdkafka \
            -Wl,-Bstatic -lsqlite3 -ljansson -lsnappy -lstdc++ -Wl,-Bdynamic \
            -lzstd -lz -lm -lpthread

SRCS     := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS     := $(patsubst src/%.c,$(O)/%.o,$(SRCS)) $(O)/default_config.o
UNIT     := $(patsubst tests/unit/%.c,$(O)/tests/%.t,$(wildcard tests/unit/test_*.c))
FUZZ     := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
TOOLS    := $(patsubst tests/tools/%.c,$(O)/tools/%,$(wildcard tests/tools/*.c))
HDRS     := $(wildcard src/*.h) tests/unit/tap.h

.PHONY: all deps test run clean fuzz unit tools bench FORCE
all: questlog$(if $(SAN),-san) $(O)/questlog_parquet.so

questlog$(if $(SAN),-san): $(O)/main.o $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(QL_LIBS)

$(O)/libquestlog.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^

$(O)/%.o: src/%.c $(HDRS) | $(O)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

# The default config ships inside the binary, generated from etc/questlog.conf.
$(O)/default_config.c: etc/questlog.conf tools/embed.sh | $(O)
	sh tools/embed.sh ql_default_config < $< > $@
$(O)/default_config.o: $(O)/default_config.c
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

# SQLite loadable extension (built when src/vtab.c exists): the module's
# files src/vtab*.c again with -DQL_SQLITE_EXTENSION (SQLite through
# sqlite3_api), plus the reader from the lib. -z defs: every symbol must
# resolve here, not in the host program.
EXT_LIBS := -lzstd -lsnappy -lz -lm -lpthread
EXT_SRCS := $(wildcard src/vtab*.c)
$(O)/questlog_parquet.so: $(O)/libquestlog.a $(EXT_SRCS) $(HDRS)
	@if [ -f src/vtab.c ]; then \
	  echo "  LINK $@"; \
	  $(CC) $(CFLAGS) $(LDFLAGS) -fPIC -shared -Wl,-z,defs -DQL_SQLITE_EXTENSION -o $@ $(EXT_SRCS) \
	    $(O)/libquestlog.a $(EXT_LIBS); \
	else touch $@; fi

$(O)/tests/%.t: tests/unit/%.c $(O)/libquestlog.a $(HDRS) | $(O)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(O)/libquestlog.a $(LIBS)

# Test helper programs (e.g. the Kafka mock cluster): tests/tools/NAME.c -> $(O)/tools/NAME.
$(O)/tools/%: tests/tools/%.c $(O)/libquestlog.a $(HDRS) | $(O)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(O)/libquestlog.a $(LIBS)

# Fuzz targets: clang + libFuzzer + ASan/UBSan, always. The library is
# compiled once for them (instrumented, no fuzzer main) into libfuzz.a; each
# target then links its own entry point against it.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -DQL_VERSION='"$(VERSION)"' \
               -DQL_BUILD='"$(BUILD)"' -Isrc -fsanitize=address,undefined
FUZZ_OBJS   := $(patsubst src/%.c,$(O)/fuzz/obj/%.o,$(SRCS)) $(O)/fuzz/obj/default_config.o
$(O)/fuzz/obj/%.o: src/%.c $(HDRS) | $(O)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(O)/fuzz/obj/default_config.o: $(O)/default_config.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<
$(O)/fuzz/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^
$(O)/fuzz/%: tests/fuzz/%.c $(O)/fuzz/libfuzz.a $(HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(O)/fuzz/libfuzz.a $(LIBS)

$(O):
	mkdir -p $(O)/tests $(O)/fuzz

# QL_BUILD (the commit) is in every object's flags, but only these print it:
# they are rebuilt whenever HEAD moves, so `--version` and Parquet files'
# created_by never name an older commit.
$(O)/build-id: FORCE | $(O)
	@echo '$(BUILD)' | cmp -s - $@ || echo '$(BUILD)' > $@
$(O)/main.o $(O)/pq_write.o: $(O)/build-id
FORCE:

unit: $(UNIT)
tools: $(TOOLS)
fuzz: $(FUZZ)

deps:
	@sh tools/deps.sh

# QL_BIN tells the shell tests which binary to run (plain or sanitized).
# The fuzz targets are always built with ASan+UBSan, so the SAN=1 run does
# not build or run them a second time.
TESTS    := $(UNIT) $(sort $(wildcard tests/integration/*.t tests/interop/*.t $(if $(SAN),,tests/fuzz/*.t)))
test: deps
	$(MAKE) all unit tools $(if $(SAN),,fuzz)
	QL_BIN=$(CURDIR)/questlog$(if $(SAN),-san) QL_BUILD_DIR=$(CURDIR)/$(O) \
	  prove --exec '' $(TESTS)

run: deps all
	./questlog up

bench: all
	@for b in bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

clean:
	rm -rf build build-san questlog questlog-san
