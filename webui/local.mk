libdrover_a_SOURCES += \
	webui/webui.h \
	webui/assets.h \
	webui/server.c \
	webui/metrics.c \
	webui/search.c \
	webui/auth.c \
	webui/api.c \
	webui/openapi.c \
	webui/ui.c

# The UI's templates and static files are compiled into the binary (webui/embed.sh).
webui_asset_files = \
	webui/templates/layout.html \
	webui/templates/login.html \
	webui/templates/error.html \
	webui/templates/dashboard.html \
	webui/templates/jobs.html \
	webui/templates/job.html \
	webui/templates/schedules.html \
	webui/templates/users.html \
	webui/templates/roles.html \
	webui/templates/tokens.html \
	webui/templates/audits.html \
	webui/templates/settings.html \
	webui/templates/_pager.html \
	webui/templates/hosts.html \
	webui/templates/host.html \
	webui/templates/host_template.html \
	webui/templates/hosts_bulk.html \
	webui/templates/hosts_bulk_done.html \
	webui/templates/prov_list.html \
	webui/templates/prov_form.html \
	webui/templates/discovered.html \
	webui/templates/repositories.html \
	webui/templates/repository.html \
	webui/templates/repository_edit.html \
	webui/templates/content_views.html \
	webui/templates/errata.html \
	webui/templates/erratum.html \
	webui/static/app.css \
	webui/static/app.js \
	webui/static/favicon.svg
nodist_libdrover_a_SOURCES += webui/assets.c
BUILT_SOURCES += webui/assets.c
CLEANFILES += webui/assets.c
EXTRA_DIST += webui/embed.sh $(webui_asset_files)
webui/assets.c: $(webui_asset_files) $(srcdir)/webui/embed.sh
	$(AM_V_GEN)$(MKDIR_P) webui && $(SHELL) $(srcdir)/webui/embed.sh $@ \
		$(addprefix $(srcdir)/,$(webui_asset_files))
