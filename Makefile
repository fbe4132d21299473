# Gatehouse build. `make` builds build/rel/gatehouse; SAN=1 builds build/san with ASan+UBSan.
# Targets: all, test, unit, integration, fuzz, bench, bench-compare, demo, format, clean,
# man, install, uninstall, deb, sbom (packaging: docs/deployment.md).
# `make bench-compare OLD=<git rev> [NEW=<git rev>] [OUT=file.md]` runs the build of OLD beside NEW
# (default: this working tree's build) on the same upstream and client, rounds alternating, and
# prints requests/s and CPU per request per load with NEW/OLD ratios (bench/compare.py).

SAN ?= 0
ifeq ($(SAN),1)
BUILD := build/san
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
       -DGH_TEST_CLOCK
else
BUILD := build/rel
# Debian's hardening flags (dpkg-buildflags with hardening=+all; PIE is the compiler's default
# there and written out here), so `make` and `make deb` build the same binary.
OPT := -O2 -g -fstack-protector-strong -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2 -fPIE
LDHARDEN := -pie -Wl,-z,relro -Wl,-z,now
endif

# Reproducible builds: the date a build stands for is the last commit's (or SOURCE_DATE_EPOCH
# when set, as dpkg-buildpackage does), the build folder never reaches the binary
# (-ffile-prefix-map) and __DATE__/__TIME__ are refused (-Wdate-time with -Werror).
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
endif
export SOURCE_DATE_EPOCH
REPRO := -ffile-prefix-map=$(CURDIR)=. -Wdate-time

CC ?= cc
PKGS := libuv yaml-0.1 libssl libcrypto jansson libcurl hiredis libnghttp2 libpcre2-8 libseccomp \
        libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
          -Isrc -MMD -MP -DGH_VERSION='"$(VERSION)"' $(OPT) $(REPRO)
LDLIBS = $(PKG_LIBS) -lpthread -lm

LIB_SRC := $(shell find src -name '*.c' ! -path 'src/main.c' | sort)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: FORCE all deps unit integration test fuzz bench bench-compare demo format clean
all: deps $(BUILD)/gatehouse

deps:
	@scripts/deps.sh --check 2>/dev/null || scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libgh.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/gatehouse: $(BUILD)/src/main.o $(BUILD)/libgh.a
	$(CC) $(CFLAGS) $(LDHARDEN) $^ -o $@ $(LDLIBS)

# The dashboard's files are taken into this object by .incbin, which -MMD does not see.
DASHBOARD_FILES := $(wildcard src/server/dashboard/*)
$(BUILD)/src/server/dashboard_assets.o build/fuzz/obj/src/server/dashboard_assets.o: $(DASHBOARD_FILES)

# The build date of `gatehouse version --verbose`: version.o is rebuilt when it changes.
$(BUILD)/build-epoch: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SOURCE_DATE_EPOCH)' | cmp -s - $@ 2>/dev/null || echo '$(SOURCE_DATE_EPOCH)' > $@
$(BUILD)/src/tools/version.o: $(BUILD)/build-epoch
$(BUILD)/src/tools/version.o: CFLAGS += -DGH_BUILD_EPOCH=$(SOURCE_DATE_EPOCH)

DESYNC_CORPUS := tests/unit/desync_corpus.c
UNIT_HELPERS := $(DESYNC_CORPUS) tests/unit/fake_gate.c

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPERS) tests/unit/fake_gate.h $(BUILD)/libgh.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(PKG_CFLAGS) $< $(UNIT_HELPERS) $(BUILD)/libgh.a -o $@ $(LDLIBS) -lcmocka

unit: deps $(UNIT_BIN)

# The library is compiled once for every fuzz target (instrumented for coverage, not linked
# with the fuzzer's main), then each target links it.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers -Isrc -g -O1 \
  -fno-sanitize-recover=undefined -DGH_VERSION='"fuzz"' -DGH_NO_DNS -MMD -MP
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) -c $< -o $@

build/fuzz/libgh.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libgh.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) $< build/fuzz/libgh.a \
	  -o $@ $(LDLIBS)

# Renders the desync corpus into fuzz_h1 seeds at fuzz time (scripts/fuzz_seeds.py).
build/fuzz/seed_desync: tests/fuzz/seed_desync.c $(DESYNC_CORPUS)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Itests/unit $(PKG_CFLAGS) $^ -o $@ $(LDLIBS)

fuzz: deps $(FUZZ_BIN) build/fuzz/seed_desync

# The whole suite: both builds, unit, integration, fuzz. Ends with "N passed, N failed, N skipped".
test: deps
	@/usr/bin/python3 scripts/run_tests.py

bench: deps all build/bench/ws_echo
	@/usr/bin/python3 bench/run.py

# The WebSocket echo server and load client of `make bench`.
build/bench/ws_echo: bench/ws_echo.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror $< -o $@ -lcrypto

bench-compare: deps $(if $(NEW),,all)
	@test -n "$(OLD)" || { echo "usage: make bench-compare OLD=<git rev> [NEW=<git rev>] [OUT=file.md]" >&2; exit 2; }
	@/usr/bin/python3 bench/compare.py --old '$(OLD)' $(if $(NEW),--new '$(NEW)') $(if $(OUT),--out '$(OUT)')

demo: deps all
	@scripts/demo.sh

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build

include packaging/packaging.mk

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d $(UNIT_BIN:=.d) $(FUZZ_OBJ:.o=.d)
