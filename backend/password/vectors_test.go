package password

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vector is one row of testdata/password-vectors.tsv: what an OTRS family
// system wrote for a login and password with a given CryptType.
type vector struct {
	format, login, password, stored string
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/password-vectors.tsv")
	require.NoError(t, err)
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		require.Len(t, cols, 4, "line %q", line)
		out = append(out, vector{cols[0], cols[1], cols[2], cols[3]})
	}
	require.NoError(t, sc.Err())
	require.GreaterOrEqual(t, len(out), 30)
	return out
}

// otrsScheme maps the CryptType in the vector file to our Scheme.
var otrsScheme = map[string]Scheme{
	"sha2": SchemeSHA2, "sha1": SchemeSHA1, "sha512": SchemeSHA512, "md5": SchemeMD5Crypt,
	"apr1": SchemeAPR1, "bcrypt": SchemeBcryptOTRS, "crypt": SchemeCrypt, "plain": SchemePlain,
}

func TestVectorsFile(t *testing.T) {
	h := Hasher{Cost: 4}
	for _, v := range loadVectors(t) {
		t.Run(v.format+"/"+v.login, func(t *testing.T) {
			want, known := otrsScheme[v.format]
			require.True(t, known, "unknown format %q in vector file", v.format)
			assert.Equal(t, want, Identify(v.stored))

			ok, rehash := h.Verify(v.stored, v.password, v.login)
			assert.True(t, ok, "right password must verify")
			// bcrypt vectors are OTRS form at cost 9: h writes standard form.
			assert.True(t, rehash, "legacy or other-form hash must be rehashed")

			// Changed at the front: DES crypt reads only 8 bytes.
			for _, wrong := range []string{"Z" + v.password, v.password[1:], strings.ToUpper(v.password)} {
				if wrong == v.password || wrong == "" {
					continue
				}
				ok, rehash = h.Verify(v.stored, wrong, v.login)
				assert.False(t, ok, "wrong password must not verify")
				assert.False(t, rehash)
			}
			ok, _ = h.Verify(v.stored, "", v.login)
			assert.False(t, ok, "empty password must never verify")
		})
	}
}
