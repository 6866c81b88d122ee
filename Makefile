# VIC-C: vSphere Integrated Containers in C.
#
#   make            build every binary into bin/
#   make run        install missing packages, build, start vic-webservice on the local target
#   make test       install what tests need, build with ASan+UBSan, run every suite
#   make bench      benchmarks, recorded in bench/results.md
#   make compat     the compatibility suite (tests/compat) against a VCH and Docker Engine
#   make ui         the web UI's served directory (bin/ui/, from ui-assets/ and node_modules)
#
# SAN=1 builds the sanitizer tree (build-san/, binaries in build-san/bin/); FUZZ=1 builds the
# libFuzzer harnesses with clang (build-fuzz/).

.DEFAULT_GOAL := build
ifeq ($(V),1)
Q :=
else
Q := @
endif
.DELETE_ON_ERROR:
SHELL := /bin/bash

BUILD_PKGS := gcc make pkg-config libc6-dev openssl libmicrohttpd-dev libgnutls28-dev libjansson-dev \
	libcurl4-openssl-dev libxml2-dev libssl-dev libsqlite3-dev libjwt-dev libarchive-dev libseccomp-dev libnftables-dev
TEST_PKGS := $(BUILD_PKGS) libcmocka-dev clang libclang-rt-14-dev clang-format \
	python3-pytest python3-pytest-timeout python3-requests curl busybox-static docker-registry skopeo apache2-utils \
	chromium golang-go golang-github-vmware-govmomi-dev nftables python3-docker docker-compose
BENCH_PKGS := $(BUILD_PKGS) wrk nginx-light procps docker.io iptables docker-registry skopeo busybox-static
# make compat: the compatibility suite against a VCH and against Debian's Docker Engine
COMPAT_PKGS := $(BUILD_PKGS) python3-pytest python3-pytest-timeout python3-requests python3-docker \
	curl busybox-static docker-registry skopeo docker.io iptables

PKGS := libmicrohttpd gnutls jansson libcurl libxml-2.0 openssl sqlite3 libjwt libarchive \
	libseccomp libnftables
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wvla
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -I. $(PKG_CFLAGS) -MMD -MP

ifeq ($(FUZZ),1)
CC := clang
B := build-fuzz
MODE_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-DVIC_FUZZING
MODE_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(SAN),1)
B := build-san
MODE_CFLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
MODE_LDFLAGS := -fsanitize=address,undefined
else
B := build
MODE_CFLAGS := -g -O2
MODE_LDFLAGS :=
endif

ifeq ($(B),build)
BIN := bin
else
BIN := $(B)/bin
endif

CFLAGS := $(BASE_CFLAGS) $(MODE_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread -Wl,--as-needed $(MODE_LDFLAGS)
LDLIBS := $(PKG_LIBS) -lm

GIT_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# What the version stamp depends on; in a linked worktree .git is a file, so ask git.
GIT_DIR := $(shell git rev-parse --git-dir 2>/dev/null)
GIT_STAMP := $(wildcard $(GIT_DIR)/HEAD $(GIT_DIR)/index)
VERSION := v0.1.0-$(GIT_VERSION)

# ---- lib/: shared code, a static library built with hidden visibility ----
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIBVIC := $(B)/libvic.a
$(LIB_OBJS): CFLAGS += -fvisibility=hidden

$(LIBVIC): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/obj/%.o: %.S
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# ---- components ----
# Each component directory holds module files (*.c, and *.c one level down, e.g.
# hypervisor/local/) that form $(comp)_OBJS, plus files named main*.c that hold a binary's
# main and are left out. $(comp)_LINK lists what the component's binaries and unit tests link
# besides libvic.a: its own objects and those of the components it uses.
COMPONENTS := lib webservice validating-proxy self-provision hypervisor tether portlayer \
	personality vch-wizard vic-machine vicadmin

define component_objs
$(1)_SRCS := $$(filter-out $(1)/tests/%,$$(wildcard $(1)/*.c $(1)/*/*.c))
$(1)_SRCS := $$(foreach f,$$($(1)_SRCS),$$(if $$(filter main%,$$(notdir $$(f))),,$$(f)))
$(1)_OBJS := $$(patsubst %.c,$$(B)/obj/%.o,$$($(1)_SRCS))
$(1)_LINK ?= $$($(1)_OBJS)
endef
$(foreach c,$(filter-out lib,$(COMPONENTS)),$(eval $(call component_objs,$(c))))
lib_OBJS :=
lib_LINK :=

webservice_OBJS += $(B)/obj/webservice/embed.o
portlayer_OBJS += $(B)/obj/portlayer/embed.o
webservice_LINK = $(webservice_OBJS) $(validating-proxy_OBJS) $(self-provision_OBJS) \
	$(vch-wizard_OBJS) $(hypervisor_OBJS)
self-provision_LINK = $(self-provision_OBJS) $(validating-proxy_OBJS) $(vch-wizard_OBJS) \
	$(hypervisor_OBJS)
# vic-init (tether/vic-init/) is a dynamic binary of its own: keep it out of the tether's
# objects; the tether's unit tests link both.
VIC_INIT_OBJS := $(filter $(B)/obj/tether/vic-init/%,$(tether_OBJS))
tether_OBJS := $(filter-out $(B)/obj/tether/vic-init/%,$(tether_OBJS))
tether_LINK = $(tether_OBJS) $(VIC_INIT_OBJS)
.SECONDARY: $(tether_OBJS) # only unit tests use them: keep make from deleting them
portlayer_LINK = $(portlayer_OBJS) $(hypervisor_OBJS)
vicadmin_LINK = $(vicadmin_OBJS) $(hypervisor_OBJS)
vch-wizard_LINK = $(vch-wizard_OBJS) $(hypervisor_OBJS)
vic-machine_LINK = $(vic-machine_OBJS) $(vch-wizard_OBJS) $(hypervisor_OBJS)

$(B)/obj/webservice/embed.o: webservice/openapi.json
$(B)/obj/portlayer/embed.o: portlayer/openapi.json
# The version string is stamped into one object, lib/version.c (vic_version()).
$(B)/obj/lib/version.o: CFLAGS += -DVIC_VERSION='"$(VERSION)"'
$(B)/obj/lib/version.o: $(GIT_STAMP)

BINARIES := $(BIN)/vic-webservice $(BIN)/vic-vmx $(BIN)/tether $(BIN)/port-layer-server \
	$(BIN)/docker-engine-server $(BIN)/vic-init $(BIN)/vic-machine $(BIN)/vicadmin

$(BIN)/vicadmin: $(B)/obj/vicadmin/main.o $(vicadmin_LINK) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/vic-machine: $(B)/obj/vic-machine/main-machine.o $(vic-machine_LINK) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The appliance's PID 1 runs on the host (the local target) or in the appliance VM, not in a
# container's root disk: a dynamic binary, unlike the tether.
$(BIN)/vic-init: $(B)/obj/tether/vic-init/main-init.o $(VIC_INIT_OBJS) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/docker-engine-server: $(B)/obj/personality/main.o $(personality_LINK) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/port-layer-server: $(B)/obj/portlayer/main.o $(portlayer_LINK) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Docker's default seccomp filter, compiled once here by libseccomp (mk/seccomp-gen.c, built
# with gcc in every tree): lib/confine.c loads it at each container start instead of building
# it (about 2 ms); other capability sets are still built at start.
SECCOMP_GEN := $(B)/gen/seccomp-gen
SECCOMP_HDR := $(B)/gen/seccomp_default.h
$(SECCOMP_GEN): mk/seccomp-gen.c lib/confine.c lib/confine.h lib/caps.c lib/caps.h lib/mem.c lib/err.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)gcc $(BASE_CFLAGS) -O1 -o $@ mk/seccomp-gen.c lib/confine.c lib/caps.c lib/mem.c lib/err.c -lseccomp
$(SECCOMP_HDR): $(SECCOMP_GEN)
	$(Q)$(SECCOMP_GEN) >$@.tmp && mv $@.tmp $@
$(B)/obj/lib/confine.o $(B)/static/lib/confine.o: $(SECCOMP_HDR)
$(B)/obj/lib/confine.o: CFLAGS += -DVIC_SECCOMP_DEFAULT -I$(B)/gen
$(B)/static/lib/confine.o: STATIC_CFLAGS += -DVIC_SECCOMP_DEFAULT -I$(B)/gen

# The VM monitor stays resident beside every running VM, so release builds link it
# statically (smaller RSS, faster power on); the sanitizer tree keeps it dynamic so that the
# tests run it under ASan and UBSan.
# The lib/ modules both static binaries (vic-vmx, tether) link: no libcurl, GnuTLS, SQLite...
STATIC_LIB_SRCS := $(addprefix lib/,err.c mem.c log.c guestinfo.c gichan.c execconfig.c attach.c \
	guestuser.c netlink.c caps.c confine.c file.c)
# vic-vmx: the local host modules the monitor uses (of hypervisor_SRCS).
VMX_LOCAL_MODULES := monitor giserve cgroup vmx util portfwd guestexec netdev idrange
VMX_SRCS := hypervisor/local/main-vmx.c \
	$(filter $(VMX_LOCAL_MODULES:%=hypervisor/local/%.c),$(hypervisor_SRCS)) \
	$(STATIC_LIB_SRCS)
ifeq ($(B),build)
$(BIN)/vic-vmx: $(VMX_SRCS:%.c=$(B)/static/%.o)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)gcc -static -pthread -Wl,--gc-sections -o $@ $^ -ljansson -lseccomp 2>$(B)/static/link-vmx.log || \
		{ cat $(B)/static/link-vmx.log; exit 1; }
else
$(BIN)/vic-vmx: $(B)/obj/hypervisor/local/main-vmx.o $(hypervisor_OBJS) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
endif

# The tether runs inside whatever root disk a container's image provides, so it is linked
# statically, from lib/ and libc (plus jansson, libcrypto and libseccomp) only, and never with the
# sanitizers (they cannot be linked statically).
TETHER_SRCS := $(wildcard tether/main*.c) $(filter-out tether/vic-init/%,$(tether_SRCS)) \
	$(STATIC_LIB_SRCS) lib/serial.c
TETHER_OBJS := $(TETHER_SRCS:%.c=$(B)/static/%.o)
STATIC_CFLAGS := $(BASE_CFLAGS) -g -O2 -ffunction-sections -fdata-sections -DVIC_GI_NO_SECRETS \
	$(EXTRA_CFLAGS)

$(B)/static/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $< (static)")
	$(Q)gcc $(STATIC_CFLAGS) -c -o $@ $<

$(BIN)/tether: $(TETHER_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)gcc -static -pthread -Wl,--gc-sections -o $@ $^ -ljansson -lseccomp 2>$(B)/static/link.log || \
		{ cat $(B)/static/link.log; exit 1; }

$(BIN)/vic-webservice: $(B)/obj/webservice/main.o $(webservice_LINK) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- the web UI: ui-assets/ plus files from node_modules, served from ui/ beside the binary ----
UI_OUT := $(BIN)/ui
UI_SRCS := $(wildcard ui-assets/*.*)
$(UI_OUT)/.built: $(UI_SRCS) mk/ui.sh $(wildcard node_modules/.package-lock.json)
	@$(if $(Q),echo "  UI      $(UI_OUT)/")
	$(Q)mk/ui.sh $(UI_OUT)
	$(Q)touch $@

# ---- unit tests: <component>/tests/test_*.c with cmocka ----
UNIT_SRCS := $(foreach c,$(COMPONENTS),$(wildcard $(c)/tests/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(B)/%)

define unit_rule
$(B)/$(1)/tests/%: $(1)/tests/%.c $$($(1)_LINK) $$(LIBVIC)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$< $$($(1)_LINK) $$(LIBVIC) $$(LDLIBS) -lcmocka
endef
$(foreach c,$(COMPONENTS),$(eval $(call unit_rule,$(c))))

# ---- benchmark programs: bench/*.c ----
$(B)/bench/hv_bench: bench/hv_bench.c $(hypervisor_OBJS) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bench/bench_tokens: bench/bench_tokens.c $(self-provision_LINK) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bench/vsphere_bench: bench/vsphere_bench.c $(hypervisor_OBJS) $(LIBVIC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

BENCH_BINS := $(B)/bench/hv_bench $(B)/bench/bench_tokens $(B)/bench/vsphere_bench

# ---- fuzz harnesses: tests/fuzz/fuzz_*.c, built with FUZZ=1 ----
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)

FUZZ_LINK = $(webservice_LINK) $(portlayer_OBJS) $(personality_OBJS)
$(B)/fuzz/%: tests/fuzz/%.c $(LIBVIC) $(FUZZ_LINK)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(FUZZ_LINK) $(LIBVIC) $(LDLIBS)

# ---- targets ----
.PHONY: build all ui unit-bins fuzzers deps deps-test deps-bench deps-compat run test bench \
	compat clean format format-check

build: $(BINARIES) ui
ui: $(UI_OUT)/.built
all: build unit-bins
unit-bins: $(UNIT_BINS)
fuzzers: $(FUZZ_BINS)

deps:
	@mk/deps.sh $(BUILD_PKGS)
	@mk/npm.sh

deps-test:
	@mk/deps.sh $(TEST_PKGS)
	@mk/npm.sh

deps-bench:
	@mk/deps.sh $(BENCH_PKGS)

deps-compat:
	@mk/deps.sh $(COMPAT_PKGS)

run: deps
	@$(MAKE) --no-print-directory build
	@mkdir -p var
	exec $(BIN)/vic-webservice --home ./var $(RUN_ARGS)

test: deps-test
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory SAN=1 all
	@$(MAKE) --no-print-directory FUZZ=1 fuzzers
	@tests/run.sh

bench: deps-bench
	@$(MAKE) --no-print-directory build $(BENCH_BINS)
	@bench/run.sh

# one suite, two engines: a VCH from bin/ and dockerd under a temporary root, side by side
compat: deps-compat
	@$(MAKE) --no-print-directory build
	@VIC_BIN_DIR=$(CURDIR)/bin tests/compat/run.sh

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_FILES)
format-check:
	@clang-format --dry-run -Werror $(C_FILES)

clean:
	rm -rf build build-san build-fuzz bin

-include $(shell find build build-san build-fuzz -name '*.d' 2>/dev/null)
