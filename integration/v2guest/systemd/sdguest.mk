# Make targets for the systemd guest (see integration/v2guest/systemd/README.md).
# Included from the top-level Makefile after integration/v2guest/guest.mk.
#
#   make sdguest-image                  build (or reuse) the cached disk image
#   make test-systemd                   build release berth, boot once, run every payload
#   make test-systemd PAYLOAD=smoke     ... or just one (name under payloads/ or a path)
#   make sdguest-clean                  drop the image and its apt'd root

SDGUEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: sdguest-image test-systemd sdguest-clean

sdguest-image: v2guest-kernel
	@V2GUEST_CACHE=$(V2GUEST_CACHE) $(SDGUEST_DIR)/image.sh >/dev/null

test-systemd: sdguest-image
	$(CARGO) build --release --bin berth --example recvtty
	V2GUEST_CACHE=$(V2GUEST_CACHE) $(SDGUEST_DIR)/run.sh $(if $(PAYLOAD),$(PAYLOAD),--all)

sdguest-clean:
	rm -rf $(V2GUEST_CACHE)/sdguest
