# berth: build, demo, test and benchmark. Run as root on Debian (see README.md).

PREFIX ?= /usr/local
CARGO ?= cargo
# Release builds are static: no dynamic loader or relocations on each of berth's short runs
# (measurably less memory per invocation in `make bench`). berth makes no NSS lookups.
TRIPLE := $(shell rustc -vV | sed -n 's/^host: //p')
STATIC_FLAGS := -C target-feature=+crt-static
# The functions a run executes, placed together at the start of the text by lld (rustc's
# linker on x86_64 Linux), so that a run faults in little of the binary: bench/text-order.sh.
ifeq ($(TRIPLE),x86_64-unknown-linux-gnu)
STATIC_FLAGS += -C link-arg=-Wl,--symbol-ordering-file=$(CURDIR)/bench/text-order.txt \
	-C link-arg=-Wl,--no-warn-symbol-ordering
endif
STATIC := RUSTFLAGS="$(STATIC_FLAGS)" $(CARGO) build --release --target $(TRIPLE)
BERTH := $(or $(CARGO_TARGET_DIR),target)/$(TRIPLE)/release/berth
DEMO_DIR ?= /tmp/berth-demo

.PHONY: build install demo deps test test-managers faults fuzz unit integration lint bench text-order clean debian-rootfs print-berth

# Pure cgroup v2 tests in a qemu guest (integration/v2guest/README.md): test-v2, v2guest-kernel.
include integration/v2guest/guest.mk
# The systemd guest (integration/v2guest/systemd/README.md): test-systemd, sdguest-image.
include integration/v2guest/systemd/sdguest.mk

build:
	$(STATIC)

install: build
	install -D -s -m 0755 $(BERTH) $(DESTDIR)$(PREFIX)/bin/berth

# What the tests and the demo need from Debian: a busybox for the rootfs; runc and crun to
# compare against in the benchmark; newuidmap/newgidmap (uidmap) for rootless containers;
# strace, which injects the faults of integration/faults.rs;
# the container managers of integration/managers and what they need (images are built with
# umoci and skopeo; catatonit for --init and pods; slirp4netns and fuse-overlayfs for
# rootless podman); dbus-daemon (and its dbus-send), private buses for src/dbus's tests.
# The packages' own services are not started (policy-rc.d, for the install only): the
# tests start private daemons of their own. qemu-system-x86 boots the guests of
# integration/v2guest; debootstrap and e2fsprogs build the systemd guest's image.
DEPS := busybox-static runc crun uidmap debootstrap strace podman conmon containernetworking-plugins \
	catatonit slirp4netns fuse-overlayfs containerd docker.io umoci skopeo dbus-daemon \
	qemu-system-x86 e2fsprogs
deps:
	@missing=""; \
	for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		policy=""; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy=1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		rc=$$?; [ -z "$$policy" ] || rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi

# Builds berth, makes a busybox bundle in $(DEMO_DIR) and runs a container from it.
demo: deps build
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)/rootfs/bin
	cp /bin/busybox $(DEMO_DIR)/rootfs/bin/busybox
	for a in $$(/bin/busybox --list); do [ "$$a" = busybox ] || ln -s busybox $(DEMO_DIR)/rootfs/bin/$$a; done
	mkdir -p $(DEMO_DIR)/rootfs/proc $(DEMO_DIR)/rootfs/sys $(DEMO_DIR)/rootfs/dev $(DEMO_DIR)/rootfs/tmp
	$(BERTH) spec --bundle $(DEMO_DIR)
	sed -i -e 's/"terminal": true/"terminal": false/' \
	       -e 's/"sh"$$/"sh", "-c", "echo Hello from a berth container: $$(hostname), pid $$$$, uid $$(id -u); ls \/"/' \
	       $(DEMO_DIR)/config.json
	$(BERTH) run --bundle $(DEMO_DIR) berth-demo-$$$$

# The whole test suite: unit tests, CLI tests and real containers (as root), plus lints.
# Unit tests fork children that set up namespaces and mounts: one test thread, so no other
# thread holds a lock at fork time. CLI and integration tests only spawn berth: in parallel.
# The benchmark is not a test (`make bench`).
# A Debian userland (debootstrap minbase, ~25 s once; cached) for the default seccomp
# profile's test, built atomically from the mirror apt uses here.
DEBIAN_ROOTFS := integration/.work/debian-rootfs
DEBIAN_MIRROR ?= $(or $(shell sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1),$(shell awk '$$1 == "deb" {print $$2; exit}' /etc/apt/sources.list 2>/dev/null),http://deb.debian.org/debian)

# A mirror that fails a download now and then is tried again (three times); the last
# attempt's log is shown if all fail.
debian-rootfs: deps
	@if [ ! -x $(DEBIAN_ROOTFS)/bin/bash ]; then \
		mkdir -p $(dir $(DEBIAN_ROOTFS)) && \
		for i in 1 2 3; do \
			rm -rf $(DEBIAN_ROOTFS).tmp; \
			if debootstrap --variant=minbase bookworm $(DEBIAN_ROOTFS).tmp $(DEBIAN_MIRROR) >$(DEBIAN_ROOTFS).log 2>&1; then \
				mv $(DEBIAN_ROOTFS).tmp $(DEBIAN_ROOTFS) && rm -f $(DEBIAN_ROOTFS).log && exit 0; \
			fi; \
			echo "debootstrap failed (attempt $$i of 3)"; sleep 5; \
		done; \
		tail -20 $(DEBIAN_ROOTFS).log; exit 1; \
	fi

test: deps lint debian-rootfs
	$(CARGO) test --bins -- --test-threads=1
	$(CARGO) test --test cli --test integration -- --test-threads=4
	$(MAKE) test-managers
	$(MAKE) test-v2
	$(MAKE) test-systemd

# SIGKILL at every traced syscall of create, start, delete and exec (make test tries a sample).
faults: deps
	BERTH_FAULT_POINTS=all $(CARGO) test --test integration faults -- --test-threads=2

# Fuzzing on stable Rust: the property tests (proptest, next to the code: config loader,
# seccomp compiler, mount options, signals, update's sizes, cpu lists, the CLI) with many
# cases, then many mutated configs through create + delete --force (integration/fuzz.rs;
# make test runs 256 cases each and 2000 configs). BERTH_FUZZ_SEED replays a config run.
FUZZ_CASES ?= 20000
FUZZ_CONFIGS ?= 20000
fuzz: deps
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --bins proptests -- --test-threads=2
	BERTH_FUZZ_CONFIGS=$(FUZZ_CONFIGS) $(CARGO) test --test integration fuzz:: -- --test-threads=1 --nocapture

# podman, rootless podman, containerd and docker driving berth and runc (integration/managers).
test-managers: deps
	$(CARGO) test --test managers

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# berth against runc and crun, side by side in one run (medians and ratios).
bench: deps
	./bench/setup.sh
	$(CARGO) bench --bench lifecycle

clean:
	$(CARGO) clean

print-berth:
	@echo $(BERTH)

# Regenerates bench/text-order.txt by tracing berth through the benchmark's operations (as
# root); see bench/text-order.sh for when.
text-order: deps build
	$(CARGO) build --release --example hot-text
	./bench/text-order.sh $(BERTH) $(or $(CARGO_TARGET_DIR),target)/release/examples/hot-text
