# pgchange: top-level Makefile.  It only delegates: the extension and the
# controller each have their own PGXS Makefile; tests/run drives every test
# layer on throwaway clusters.
#
#   make                 build the extension and the pgchange command
#   make install         install both (PREFIX=... puts the command elsewhere)
#   make installcheck    pg_regress (sql/, expected/) against a running server
#   make check           every test layer on a throwaway cluster
#   make check-asan      the controller's tests built with ASan and UBSan
#   make demo            a throwaway cluster under .pgchange/ with a deploy
#   make demo-stop       stop it
include version.mk

SUBDIRS = extension controller

all:
	$(MAKE) -C extension
	$(MAKE) -C controller

install: all
	$(MAKE) -C extension install
ifdef PREFIX
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 controller/pgchange $(DESTDIR)$(PREFIX)/bin/pgchange
else
	$(MAKE) -C controller install
endif

uninstall:
	$(MAKE) -C extension uninstall
	$(MAKE) -C controller uninstall

installcheck: all
	$(MAKE) -C extension installcheck

unit: all
	$(MAKE) -C controller unit

check:
	tests/run

check-asan:
	tests/run --asan

demo:
	tests/demo/demo.sh start

demo-stop:
	tests/demo/demo.sh stop

clean:
	$(MAKE) -C extension clean
	$(MAKE) -C controller clean

.PHONY: all install uninstall installcheck unit check check-asan demo demo-stop clean
