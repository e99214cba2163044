# Make targets for the pure-cgroup-v2 guest (see integration/v2guest/README.md).
# Included from the top-level Makefile: `include integration/v2guest/guest.mk`.
#
#   make v2guest-kernel          fetch and unpack Debian's kernel into the cache (idempotent)
#   make test-v2                 build release berth, run every payload in one guest boot
#                                (then ramdisk/no-pivot.sh in a boot that stays on the initramfs)
#   make test-v2 PAYLOAD=smoke   ... or just one payload (name under payloads/ or a path)
#   make v2guest-clean           drop the cache (kernel, initramfs, logs)

V2GUEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
V2GUEST_CACHE ?= $(V2GUEST_DIR)/../.work/v2guest
CARGO ?= cargo
PAYLOAD ?=

.PHONY: v2guest-kernel test-v2 v2guest-clean

v2guest-kernel:
	@V2GUEST_CACHE=$(V2GUEST_CACHE) $(V2GUEST_DIR)/kernel.sh >/dev/null

test-v2: v2guest-kernel
	$(CARGO) build --release --bin berth --example recvtty
	V2GUEST_CACHE=$(V2GUEST_CACHE) $(V2GUEST_DIR)/run.sh $(if $(PAYLOAD),$(PAYLOAD),--all)
	$(if $(PAYLOAD),,V2GUEST_CACHE=$(V2GUEST_CACHE) V2GUEST_APPEND=v2guest.ramdisk-root \
		$(V2GUEST_DIR)/run.sh $(V2GUEST_DIR)/ramdisk/no-pivot.sh)

v2guest-clean:
	rm -rf $(V2GUEST_CACHE)
