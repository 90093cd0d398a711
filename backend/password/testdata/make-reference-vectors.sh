#!/bin/sh
# Regenerates reference-vectors.tsv with reference implementations, not with
# this package: openssl passwd (md5-crypt, apr1), the C library's crypt(3)
# through perl (traditional DES crypt; bcrypt $2a$/$2b$/$2y$ from libxcrypt),
# sha1sum/sha256sum/sha512sum. OTRS-form bcrypt rows are the libxcrypt "$2a$"
# hash of a salt whose 16 raw bytes are printable, rewritten as
# BCRYPT:<cost>:<salt16>:<hash31>, which is exactly what OTRS computes.
# Passwords are given in hex (column 2) so any byte can be tested; column 4
# is a readable note.
#
#   cd backend/password/testdata && sh make-reference-vectors.sh > reference-vectors.tsv
set -eu

long200=$(perl -e 'print "The quick brown fox jumps over the lazy dog while the customer waits for an answer to ticket 4711; " x 2, "ok"')
over72a=$(perl -e 'print "a" x 72, "first"')
over72b=$(perl -e 'print "a" x 72, "second"')

hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$(hexof "$2")" "$3" "$4"; }

echo "# scheme	password (hex of the UTF-8 bytes)	stored	note"

for pw in 'Secret123' 'pässwörd' 'パス' ' ' "' OR 1=1 --" "$long200"; do
	n=$(printf '%s' "$pw" | wc -c)
	row sha2   "$pw" "$(printf '%s' "$pw" | sha256sum | cut -d' ' -f1)" "sha256sum, $n bytes"
	row sha1   "$pw" "$(printf '%s' "$pw" | sha1sum | cut -d' ' -f1)" "sha1sum, $n bytes"
	row sha512 "$pw" "$(printf '%s' "$pw" | sha512sum | cut -d' ' -f1)" "sha512sum, $n bytes"
done

for salt in jdoe maximili a 'k.x/Z9' "o'neil" 'カ'; do
	for pw in 'Secret123' 'pässwörd' 'x' "$long200"; do
		n=$(printf '%s' "$pw" | wc -c)
		row md5-crypt "$pw" "$(openssl passwd -1 -salt "$salt" "$pw")" "openssl passwd -1, salt $salt, $n bytes"
		row apr1      "$pw" "$(openssl passwd -apr1 -salt "$salt" "$pw")" "openssl passwd -apr1, salt $salt, $n bytes"
	done
done

for salt in ab jd Mi ./ zz 9A /. Z0; do
	for pw in 'Secret123' 'x' 'pässwörd' '12345678' "$long200"; do
		n=$(printf '%s' "$pw" | wc -c)
		row crypt "$pw" "$(perl -e 'print crypt($ARGV[0], $ARGV[1])' "$pw" "$salt")" "crypt(3) DES, salt $salt, $n bytes"
	done
done

# bcrypt: salt22 is the bcrypt-base64 form of the 16 raw salt bytes;
# a07iYVTrVz7hYEvtakjiXO is "sodium__chloride".
for cost in 04 05; do
	for pw in 'Secret123' 'pässwörd' 'パス' "$long200" "$over72a" "$over72b"; do
		n=$(printf '%s' "$pw" | wc -c)
		for v in 2a 2b 2y; do
			row bcrypt "$pw" "$(perl -e 'print crypt($ARGV[0], $ARGV[1])' "$pw" "\$$v\$$cost\$a07iYVTrVz7hYEvtakjiXO")" "libxcrypt \$$v\$, cost $cost, $n bytes"
		done
		h=$(perl -e 'print crypt($ARGV[0], $ARGV[1])' "$pw" "\$2a\$$cost\$a07iYVTrVz7hYEvtakjiXO")
		row bcrypt-otrs "$pw" "BCRYPT:${cost#0}:sodium__chloride:$(printf '%s' "$h" | cut -c30-)" "libxcrypt \$2a\$ rewritten in OTRS form, cost $cost, $n bytes"
	done
done
