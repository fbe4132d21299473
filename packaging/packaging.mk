# Installing and packaging (docs/deployment.md). Included by the Makefile.
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]   make uninstall (same vars)
#   make man    build/man/gatehouse.8, build/man/gatehouse.yaml.5 (scripts/md2man.py)
#   make deb    build/deb/gatehouse_VERSION_ARCH.deb and gatehouse_VERSION.sha256 (debian/)
#   make sbom   build/gatehouse.cdx.json (CycloneDX 1.5, scripts/sbom.py)
# The binary goes to bin, not sbin: besides the service it is a tool every user runs (check,
# audit, token, version, status), as Debian ships caddy in /usr/bin.

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/gatehouse
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
# systemd reads units from /usr/local/lib/systemd/system and (Debian 12) /lib/systemd/system.
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/sysusers.d,$(PREFIX)/lib/sysusers.d)
CONFDIR := $(SYSCONFDIR)/gatehouse
MAN_PAGES := build/man/gatehouse.8 build/man/gatehouse.yaml.5
INSTALL_DOCS := README.md docs/configuration.md docs/operations.md docs/security.md \
                docs/deployment.md docs/architecture.md docs/coming-from.md docs/benchmarks.md

.PHONY: man install uninstall deb sbom

man: $(MAN_PAGES)
$(MAN_PAGES) &: scripts/md2man.py README.md docs/operations.md docs/configuration.md VERSION
	/usr/bin/python3 scripts/md2man.py build/man

# Installs the release build (built first when missing, without scripts/deps.sh). The example
# configuration is copied only where none exists: an operator's file is never replaced.
install: build/rel/gatehouse $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(DOCDIR) $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR) \
	  $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 build/rel/gatehouse $(DESTDIR)$(BINDIR)/gatehouse
	install -m 0644 build/man/gatehouse.8 $(DESTDIR)$(MANDIR)/man8/gatehouse.8
	install -m 0644 build/man/gatehouse.yaml.5 $(DESTDIR)$(MANDIR)/man5/gatehouse.yaml.5
	install -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 packaging/gatehouse.bash-completion $(DESTDIR)$(COMPLETIONDIR)/gatehouse
	install -m 0644 packaging/gatehouse.sysusers $(DESTDIR)$(SYSUSERSDIR)/gatehouse.conf
	sed -e 's|/usr/bin/gatehouse|$(BINDIR)/gatehouse|g' -e 's|/etc/gatehouse/|$(CONFDIR)/|g' \
	  packaging/gatehouse.service > $(DESTDIR)$(UNITDIR)/gatehouse.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/gatehouse.service
	@if [ -e $(DESTDIR)$(CONFDIR)/gatehouse.yaml ]; then \
	  echo "kept $(DESTDIR)$(CONFDIR)/gatehouse.yaml (exists)"; \
	else install -m 0644 packaging/gatehouse.yaml $(DESTDIR)$(CONFDIR)/gatehouse.yaml; fi

# Removes what install wrote except the configuration, which may hold the operator's changes.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gatehouse $(DESTDIR)$(MANDIR)/man8/gatehouse.8 \
	  $(DESTDIR)$(MANDIR)/man5/gatehouse.yaml.5 $(DESTDIR)$(COMPLETIONDIR)/gatehouse \
	  $(DESTDIR)$(UNITDIR)/gatehouse.service $(DESTDIR)$(SYSUSERSDIR)/gatehouse.conf
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INSTALL_DOCS)))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
	@echo "kept $(DESTDIR)$(CONFDIR) (configuration): remove it by hand if it is no longer wanted"

# The package is built from a copy of the tracked files under build/deb/ (dpkg-buildpackage
# writes its results beside the source folder, and nothing may land outside the repository),
# with this checkout's SOURCE_DATE_EPOCH so the binary is the one `make` builds here.
DEB_STAGE := build/deb/gatehouse-$(VERSION)
deb:
	rm -rf build/deb && mkdir -p $(DEB_STAGE)
	git ls-files -z --cached --others --exclude-standard | grep -zv '^tests/\|^bench/' \
	  | tar --null --no-recursion -T - -cf - | tar -xf - -C $(DEB_STAGE)
	cd $(DEB_STAGE) && SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) dpkg-buildpackage -b -us -uc -j2
	cd build/deb && sha256sum gatehouse_$(VERSION)_*.deb > gatehouse_$(VERSION).sha256

sbom: build/rel/gatehouse
	/usr/bin/python3 scripts/sbom.py build/gatehouse.cdx.json build/rel/gatehouse
