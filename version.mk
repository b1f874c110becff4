# The version is written once, in META.json; both parts read it from here.
PGCHANGE_TOP := $(dir $(lastword $(MAKEFILE_LIST)))
PGCHANGE_VERSION := $(shell sed -n 's/^   "version": "\([^"]*\)",$$/\1/p' $(PGCHANGE_TOP)META.json)
ifeq ($(PGCHANGE_VERSION),)
$(error cannot read the top-level "version" from META.json)
endif
PG_CONFIG ?= pg_config
