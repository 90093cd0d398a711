package password

import (
	"context"
	"crypto/cipher"
	"crypto/des"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/helpdeskkit/customeruser/backend"
)

var (
	standardRE = regexp.MustCompile(`^\$2a\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)
	otrsRE     = regexp.MustCompile(`^BCRYPT:([4-9]|[12][0-9]|3[01]):[0-9A-Za-z]{16}:[./A-Za-z0-9]{31}$`)
)

func TestHashRoundTrip(t *testing.T) {
	t.Parallel()
	passwords := []string{
		"Secret123",
		"a",
		" ",
		"\n\t",
		"' OR 1=1 --",
		strings.Repeat("a", 64),
		strings.Repeat("Ein langer Satz als Passwort, mit Komma. ", 5)[:72], // the longest allowed
		"пароль-Пароль",
		"كلمة السر",
		"パスワード🔑",
	}
	for _, f := range []Format{FormatStandard, FormatOTRS} {
		for _, cost := range []int{4, 5, 6} {
			h := Hasher{Cost: cost, Format: f}
			for i, pw := range passwords {
				if cost > 4 && i > 0 {
					break // the other costs with one password: the cost is in the hash
				}
				stored, err := h.Hash(pw)
				require.NoError(t, err)
				if f == FormatStandard {
					assert.Regexp(t, standardRE, stored)
					assert.Equal(t, SchemeBcrypt, Identify(stored))
				} else {
					assert.Regexp(t, otrsRE, stored)
					assert.Equal(t, SchemeBcryptOTRS, Identify(stored))
				}
				assert.Equal(t, cost, parse(stored).cost)
				ok, rehash := h.Verify(stored, pw, "login")
				assert.True(t, ok, "%s cost %d %q", f, cost, pw)
				assert.False(t, rehash)
				if i == 0 { // verified twice: nothing is consumed
					ok, rehash = h.Verify(stored, pw, "login")
					assert.True(t, ok)
					assert.False(t, rehash)
				}
				ok, rehash = h.Verify(stored, "Z"+pw, "login")
				assert.False(t, ok, "Z+%q", pw)
				assert.False(t, rehash, "rehash only after success")
				if len(pw) < MaxBcryptKeyBytes-1 && !raceEnabled {
					ok, _ = h.Verify(stored, pw+"x", "login")
					assert.False(t, ok, "%q+x", pw)
				}
			}
		}
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	for _, f := range []Format{FormatStandard, FormatOTRS} {
		h := Hasher{Cost: 4, Format: f}
		seen := map[string]bool{}
		for range 8 {
			s, err := h.Hash("same password")
			require.NoError(t, err)
			assert.False(t, seen[s], "salt reused")
			seen[s] = true
		}
	}
}

// Our standard hashes are ordinary bcrypt: x/crypto/bcrypt reads ours and we
// read its.
func TestCompatibleWithXCrypto(t *testing.T) {
	h := Hasher{Cost: 4}
	for _, pw := range []string{"Secret123", "pässwörd", strings.Repeat("b", 72)} {
		stored, err := h.Hash(pw)
		require.NoError(t, err)
		assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(stored), []byte(pw)))

		theirs, err := bcrypt.GenerateFromPassword([]byte(pw), 5)
		require.NoError(t, err)
		ok, rehash := h.Verify(string(theirs), pw, "")
		assert.True(t, ok)
		assert.False(t, rehash)
	}
}

// An OTRS-form hash is the standard hash with the salt16 as raw salt bytes.
func TestOTRSFormEqualsStandard(t *testing.T) {
	assert.Equal(t, "a07iYVTrVz7hYEvtakjiXO", EncodeBcryptSalt([]byte("sodium__chloride")))
	assert.Equal(t, "", EncodeBcryptSalt([]byte("short")))

	h := Hasher{Cost: 4, Format: FormatOTRS}
	stored, err := h.Hash("Secret123")
	require.NoError(t, err)
	parts := strings.Split(stored, ":")
	require.Len(t, parts, 4)
	standard := "$2a$04$" + EncodeBcryptSalt([]byte(parts[2])) + parts[3]
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(standard), []byte("Secret123")))
	ok, _ := Hasher{Cost: 4}.Verify(standard, "Secret123", "")
	assert.True(t, ok)

	// The OTRS vector of the issue, converted the same way.
	const otrs = "BCRYPT:9:sodium__chloride:f58KO/Sc5XBGb9Bam7AOisnk/QAwefq"
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte("$2a$09$a07iYVTrVz7hYEvtakjiXO"+otrs[len(otrs)-31:]), []byte("パス")))
}

func TestHashErrors(t *testing.T) {
	tests := []struct {
		name     string
		h        Hasher
		password string
		field    string
	}{
		{"empty password", Hasher{Cost: 4}, "", "Password"},
		{"NUL in password", Hasher{Cost: 4}, "a\x00b", "Password"},
		{"invalid UTF-8", Hasher{Cost: 4}, "a\xffb", "Password"},
		{"too long", Hasher{Cost: 4}, strings.Repeat("a", backend.MaxNewPasswordBytes+1), "Password"},
		{"cost 3", Hasher{Cost: 3}, "pw", "Hasher.Cost"},
		{"cost 32", Hasher{Cost: 32}, "pw", "Hasher.Cost"},
		{"cost -1", Hasher{Cost: -1}, "pw", "Hasher.Cost"},
		{"unknown format", Hasher{Cost: 4, Format: 7}, "pw", "Hasher.Format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.h.Hash(tt.password)
			require.Error(t, err)
			assert.Empty(t, s)
			var ve *backend.ValidationError
			require.True(t, errors.As(err, &ve), "want *backend.ValidationError, got %T", err)
			assert.Equal(t, tt.field, ve.Field)
			assert.ErrorIs(t, err, backend.ErrInvalidInput)
			if tt.password != "" {
				assert.NotContains(t, err.Error(), tt.password, "error must not quote the password")
			}
		})
	}
	assert.NoError(t, Hasher{}.Check())
	assert.NoError(t, Hasher{Cost: 31, Format: FormatOTRS}.Check())
	assert.Equal(t, DefaultCost, Hasher{}.cost())
}

func TestRehashRules(t *testing.T) {
	mk := func(h Hasher) string {
		s, err := h.Hash("pw")
		require.NoError(t, err)
		return s
	}
	std4 := mk(Hasher{Cost: 4})
	std5 := mk(Hasher{Cost: 5})
	otrs4 := mk(Hasher{Cost: 4, Format: FormatOTRS})
	otrs5 := mk(Hasher{Cost: 5, Format: FormatOTRS})
	tests := []struct {
		name   string
		h      Hasher
		stored string
		rehash bool
	}{
		{"same standard", Hasher{Cost: 4}, std4, false},
		{"standard, higher cost stored", Hasher{Cost: 4}, std5, false},
		{"standard, lower cost stored", Hasher{Cost: 5}, std4, true},
		{"zero Cost means 12", Hasher{}, std5, true},
		{"$2b$ is the standard form", Hasher{Cost: 4}, "$2b$" + std4[4:], false},
		{"$2y$ is the standard form", Hasher{Cost: 4}, "$2y$" + std4[4:], false},
		{"standard stored, OTRS wanted", Hasher{Cost: 4, Format: FormatOTRS}, std4, true},
		{"same OTRS", Hasher{Cost: 4, Format: FormatOTRS}, otrs4, false},
		{"OTRS, higher cost stored", Hasher{Cost: 4, Format: FormatOTRS}, otrs5, false},
		{"OTRS, lower cost stored", Hasher{Cost: 5, Format: FormatOTRS}, otrs4, true},
		{"OTRS stored, standard wanted", Hasher{Cost: 4}, otrs5, true},
		{"sha2", Hasher{Cost: 4}, "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4", true}, // sha256("pw")
		{"plain", Hasher{Cost: 4}, "pw", true},
		{"md5-crypt", Hasher{Cost: 4}, "$1$ab$" + md5Crypt("pw", md5Magic, "ab"), true},
		{"apr1", Hasher{Cost: 4}, "$apr1$ab$" + md5Crypt("pw", apr1Magic, "ab"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash := tt.h.Verify(tt.stored, "pw", "jdoe")
			require.True(t, ok)
			assert.Equal(t, tt.rehash, rehash)
			ok, rehash = tt.h.Verify(tt.stored, "wrong", "jdoe")
			assert.False(t, ok)
			assert.False(t, rehash, "rehash only after a successful verify")
		})
	}
}

// bcrypt keys are password+NUL cut to 72 bytes (OpenBSD, Crypt::Eksblowfish,
// libxcrypt): a difference after byte 72 is invisible. This documents the
// rule; the reference vectors show libxcrypt does the same.
func TestBcrypt72ByteTruncation(t *testing.T) {
	prefix := strings.Repeat("ä", 36) // 72 bytes
	require.Len(t, prefix, 72)
	for _, f := range []Format{FormatStandard, FormatOTRS} {
		h := Hasher{Cost: 4, Format: f}
		_, err := h.Hash(prefix + "first")
		require.ErrorIs(t, err, backend.ErrInvalidInput, "a new password over 72 bytes is refused")
		stored, err := h.Hash(prefix)
		require.NoError(t, err)
		ok, _ := h.Verify(stored, prefix+"second", "")
		assert.True(t, ok, "bytes after the 72nd do not count")
		ok, _ = h.Verify(stored, prefix, "")
		assert.True(t, ok, "exactly 72 bytes")
		ok, _ = h.Verify(stored, prefix[:71], "")
		assert.False(t, ok, "71 bytes differ from 72")
		ok, _ = h.Verify(stored, "ö"+prefix[2:], "")
		assert.False(t, ok, "a change inside the first 72 bytes counts")
	}
}

// Traditional crypt reads 8 bytes and 7 bits of each.
func TestDESCryptTruncation(t *testing.T) {
	const stored = "jdl1FMVQukacA" // crypt("Secret123", "jd")
	h := Hasher{Cost: 4}
	for _, pw := range []string{"Secret123", "Secret12", "Secret12 and more"} {
		ok, rehash := h.Verify(stored, pw, "jdoe")
		assert.True(t, ok, pw)
		assert.True(t, rehash)
	}
	for _, pw := range []string{"Secret1", "secret123", "Secret13"} {
		ok, _ := h.Verify(stored, pw, "jdoe")
		assert.False(t, ok, pw)
	}
	got, ok := desCrypt("Secret12\x00ignored", "jd")
	require.True(t, ok)
	assert.Equal(t, stored, got[:13], "a NUL ends the password as in C")
	_, ok = desCrypt("x", "a")
	assert.False(t, ok)
	_, ok = desCrypt("x", "a!")
	assert.False(t, ok)
}

// Our DES core with an unmodified E box is plain DES: compare with crypto/des.
func TestDESCoreMatchesCryptoDES(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		key, block := rng.Uint64(), rng.Uint64()
		var kb, in, want [8]byte
		binary.BigEndian.PutUint64(kb[:], key)
		binary.BigEndian.PutUint64(in[:], block)
		c, err := des.NewCipher(kb[:])
		require.NoError(t, err)
		var _ cipher.Block = c
		c.Encrypt(want[:], in[:])
		ks := desSubkeys(key)
		e := desE
		assert.Equal(t, binary.BigEndian.Uint64(want[:]), desEncrypt(block, &ks, &e))
	}
}

func TestVerifyEmptyPasswordNeverVerifies(t *testing.T) {
	h := Hasher{Cost: 4}
	std, err := h.Hash("x")
	require.NoError(t, err)
	for _, stored := range []string{
		"", std, "BCRYPT:9:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m",
		// sha256, sha1 and sha512 of "":
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
		"$1$ab$" + md5Crypt("", md5Magic, "ab"), "$apr1$ab$" + md5Crypt("", apr1Magic, "ab"),
		"abmF1QH4PEr.E", // crypt("", "ab")
		"plain",
	} {
		ok, rehash := h.Verify(stored, "", "jdoe")
		assert.False(t, ok, stored)
		assert.False(t, rehash)
	}
	d, ok := desCrypt("", "ab")
	require.True(t, ok)
	assert.Equal(t, "abmF1QH4PEr.E", d)
}

func TestVerifyHexCaseInsensitive(t *testing.T) {
	h := Hasher{Cost: 4}
	const sha2 = "2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82"
	for _, s := range []string{sha2, strings.ToUpper(sha2), "2ED06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82"} {
		assert.Equal(t, SchemeSHA2, Identify(s))
		ok, rehash := h.Verify(s, "Secret123", "jdoe")
		assert.True(t, ok)
		assert.True(t, rehash)
	}
}

// A stored string that looks like a hash is never compared as plain text, so
// a stolen hash cannot be typed in as the password.
func TestPlainRule(t *testing.T) {
	h := Hasher{Cost: 4}
	ok, rehash := h.Verify("correct horse battery staple", "correct horse battery staple", "jdoe")
	assert.True(t, ok)
	assert.True(t, rehash)
	ok, _ = h.Verify("correct horse battery staple", "correct horse battery stapl", "jdoe")
	assert.False(t, ok)
	ok, _ = h.Verify("Plain", "plain", "jdoe")
	assert.False(t, ok, "plain comparison is case-sensitive")

	std, err := h.Hash("x")
	require.NoError(t, err)
	otrs, err := Hasher{Cost: 4, Format: FormatOTRS}.Hash("x")
	require.NoError(t, err)
	for _, stored := range []string{
		std, otrs,
		"2ed06766795d58a4f22d511a672f20a6b096d3fe5b56af3a744678a9a356fd82",
		"1561482c1292222496d39bb43eb61619184a51c9",
		"$1$jdoe$1fmu3sKFirQJrmeMiHeon1", "$apr1$jdoe$OOGMiorY7qwsdHbeh21jm/",
		"jdl1FMVQukacA",
		"$6$salt$hash", "$", "$$", "BCRYPT:", "BCRYPT:9:short:x",
	} {
		assert.NotEqual(t, SchemePlain, Identify(stored), stored)
		ok, _ := h.Verify(stored, stored, "jdoe")
		assert.False(t, ok, "hash typed in as password verified: %s", stored)
	}
}

func TestMalformedStored(t *testing.T) {
	h := Hasher{Cost: 4}
	long := strings.Repeat("x", 1<<20)
	tests := []struct {
		stored string
		want   Scheme
	}{
		{"", SchemeNone},
		{"BCRYPT:99:short:x", SchemeUnknown},
		{"BCRYPT:9:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862", SchemeUnknown},   // hash 30 chars
		{"BCRYPT:9:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862mm", SchemeUnknown}, // hash 32 chars
		{"BCRYPT:3:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m", SchemeUnknown},  // cost too low
		{"BCRYPT:32:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m", SchemeUnknown}, // cost too high
		{"BCRYPT:-9:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m", SchemeUnknown},
		{"BCRYPT:009:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m", SchemeUnknown},
		{"BCRYPT:9:abcdefghijklmno:WDipDq9GOWontr8TMviMR6Vcjve862mx", SchemeUnknown}, // salt 15
		{"BCRYPT:9:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve86!m", SchemeUnknown}, // bad char
		{"BCRYPT:9:abcdefghijklmnop", SchemeUnknown},
		{"BCRYPT:", SchemeUnknown},
		{"BCRYPT", SchemePlain},
		{"bcrypt:9:abcdefghijklmnop:WDipDq9GOWontr8TMviMR6Vcjve862m", SchemePlain}, // OTRS matches case-sensitively
		{"$2a$xx$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW", SchemeUnknown},
		{"$2a$03$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW", SchemeUnknown},
		{"$2a$32$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW", SchemeUnknown},
		{"$2a$04$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31n", SchemeUnknown},
		{"$2a$04$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nWW", SchemeUnknown},
		{"$2a$04a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nWW", SchemeUnknown},
		{"$2a$04$a07iYVTrVz7hYEvtakj!XO39MyFdQibzi71KUfm.ggT47eXVc31nW", SchemeUnknown},
		{"$2x$04$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nW", SchemeUnknown},
		{"$2$04$a07iYVTrVz7hYEvtakjiXO39MyFdQibzi71KUfm.ggT47eXVc31nWx", SchemeUnknown},
		{"$1$", SchemeUnknown},
		{"$1$$", SchemeUnknown},
		{"$1$ab", SchemeUnknown},
		{"$1$ab$", SchemeUnknown},
		{"$1$$e2KlfqG5YBMTjSz7XF.Eu1", SchemeUnknown},          // empty salt
		{"$1$abcdefghi$e2KlfqG5YBMTjSz7XF.Eu1", SchemeUnknown}, // salt 9 bytes
		{"$1$ab$e2KlfqG5YBMTjSz7XF.Eu", SchemeUnknown},
		{"$1$ab$e2KlfqG5YBMTjSz7XF.Eu1$", SchemeUnknown},
		{"$1$ab$e2KlfqG5YBMTjSz7XF.E!1", SchemeUnknown},
		{"$apr1$", SchemeUnknown},
		{"$apr1$ab$", SchemeUnknown},
		{"$5$salt$hash", SchemeUnknown},
		{"$6$rounds=5000$salt$hash", SchemeUnknown},
		{"$y$j9T$salt$hash", SchemeUnknown},
		{"$", SchemeUnknown},
		{"$\x00\xff", SchemeUnknown},
		{"jdl1FMVQukac", SchemePlain},   // 12 chars
		{"jdl1FMVQukacAA", SchemePlain}, // 14 chars
		{"jdl1FMVQukac!", SchemePlain},  // 13, not the alphabet
		{"1561482c1292222496d39bb43eb61619184a51cg", SchemePlain},
		{"1561482c1292222496d39bb43eb61619184a51c", SchemePlain},
		{"\xff\xfe", SchemePlain},
		{long, SchemePlain},
		{"$" + long, SchemeUnknown},
		{"BCRYPT:" + long, SchemeUnknown},
		{"$1$" + long, SchemeUnknown},
	}
	for _, tt := range tests {
		name := tt.stored
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.want, Identify(tt.stored))
			for _, pw := range []string{"Secret123", "pw"} {
				ok, rehash := h.Verify(tt.stored, pw, "jdoe")
				assert.False(t, ok)
				assert.False(t, rehash)
			}
			ok, _ := h.Verify(tt.stored, tt.stored, "jdoe")
			wantOK := tt.want == SchemePlain && len(tt.stored) <= backend.MaxPasswordBytes
			assert.Equal(t, wantOK, ok, "stored string typed in as password")
		})
	}
}

// Passwords over backend.MaxPasswordBytes are refused before hashing them
// (md5-crypt costs 1000 MD5 passes over the password); Verify spends the
// time of a Dummy instead.
func TestVerifyRefusesHugePasswords(t *testing.T) {
	h := Hasher{Cost: 4}
	huge := strings.Repeat("a", backend.MaxPasswordBytes+1)
	for _, stored := range []string{huge, "$1$ab$" + md5Crypt(huge, md5Magic, "ab")} {
		ok, _ := h.Verify(stored, huge, "")
		assert.False(t, ok)
	}
	max := strings.Repeat("a", backend.MaxPasswordBytes)
	ok, _ := h.Verify(max, max, "")
	assert.True(t, ok)
}

func TestIdentifyVectors(t *testing.T) {
	assert.True(t, SchemeBcrypt.IsBcrypt())
	assert.True(t, SchemeBcryptOTRS.IsBcrypt())
	assert.False(t, SchemeSHA2.IsBcrypt())
	assert.Equal(t, "standard", FormatStandard.String())
	assert.Equal(t, "otrs", FormatOTRS.String())
	assert.Equal(t, "Format(9)", Format(9).String())
}

func TestDummy(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := Hasher{Cost: 4 + i%2}
			h.Dummy("some password")
			h.Dummy("")
		}()
	}
	wg.Wait()
	assert.Len(t, dummyHash, bcryptHashB64Len)
	assert.Len(t, dummySalt, bcryptSaltBytes)
}

// A context that ends during the bcrypt rounds ends Verify, Hash and Dummy
// with its error, long before the rounds would have finished.
func TestContextEndsHashing(t *testing.T) {
	h := Hasher{Cost: 16} // about 4 s of rounds
	stored := "$2a$16$" + EncodeBcryptSalt([]byte("0123456789abcdef")) + strings.Repeat("a", bcryptHashB64Len)
	for name, call := range map[string]func(ctx context.Context) error{
		"verify": func(ctx context.Context) error { _, _, err := h.VerifyContext(ctx, stored, "pw", ""); return err },
		"hash":   func(ctx context.Context) error { _, err := h.HashContext(ctx, "pw"); return err },
		"dummy refused password": func(ctx context.Context) error {
			_, _, err := h.VerifyContext(ctx, stored, "", "")
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
		assert.Less(t, time.Since(start), 2*time.Second, "%s stopped at the deadline", name)
	}
	cheap := "$2a$04$" + EncodeBcryptSalt([]byte("0123456789abcdef")) + strings.Repeat("a", bcryptHashB64Len)
	ok, _, err := Hasher{Cost: 4}.VerifyContext(context.Background(), cheap, "pw", "")
	require.NoError(t, err, "a context that does not end changes nothing")
	assert.False(t, ok)
}
