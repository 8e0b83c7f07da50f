/*
 * dlib.c - libraries loaded on first use. A library that only some installations need
 * (libvirt for libvirt compute resources, libxml2 for rpm-md metadata) is opened with
 * dlopen the first time it is needed, so a daemon that never uses it neither maps it nor
 * the libraries it pulls in (GLib, GnuTLS, ICU…). Callers call through typed pointers
 * (DLIB_DECLARE, DLIB_SYM), systemd's dlopen pattern.
 */
#define LOG_COMPONENT "core"
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include "core/core.h"

/* Open lib once and resolve every symbol; later calls return the first result. */
int
dlib_load(struct dlib *lib, struct dr_error *err)
{
	void *h;
	size_t i;
	int ret;

	pthread_mutex_lock(&lib->lock);
	if (lib->state == 0) {
		lib->state = -1;
		if ((h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			snprintf(lib->error, sizeof lib->error, "cannot load %s: %s (install %s)",
			    lib->soname, dlerror(), lib->package);
			goto out;
		}
		for (i = 0; i < lib->nsyms; i++) {
			if ((*lib->syms[i].ptr = dlsym(h, lib->syms[i].name)) == NULL) {
				snprintf(lib->error, sizeof lib->error, "%s: no symbol %s",
				    lib->soname, lib->syms[i].name);
				dlclose(h);
				goto out;
			}
		}
		lib->state = 1; /* never closed: the pointers stay valid */
	}
out:
	ret = lib->state == 1 ? 0 : dr_error_set(err, "%s", lib->error);
	pthread_mutex_unlock(&lib->lock);
	return ret;
}
