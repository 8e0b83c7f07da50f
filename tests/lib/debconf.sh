# debconf.sh - debconf's own check of a preseed file. Source it.
#
#   debconf_check FILE   debconf-set-selections -c FILE on a debconf database of its own
#                        (under TAP_TMP): the system's is locked while apt or dpkg run
#                        elsewhere on the machine, and -c then fails without a word.
debconf_check() {
	db=$TAP_TMP/debconf
	mkdir -p "$db"
	cat >"$db/debconf.conf" <<DEBCONF
Config: configdb
Templates: templatedb

Name: configdb
Driver: File
Filename: $db/config.dat

Name: templatedb
Driver: File
Filename: $db/templates.dat
DEBCONF
	DEBCONF_SYSTEMRC=$db/debconf.conf debconf-set-selections -c "$1"
}
