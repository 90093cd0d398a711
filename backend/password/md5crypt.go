package password

import "crypto/md5"

// cryptAlphabet is the alphabet of crypt(3) output ("./0-9A-Za-z"); DES crypt
// and md5-crypt encode with it, least significant 6 bits first.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const (
	md5Magic  = "$1$"
	apr1Magic = "$apr1$"
	// md5SaltMax is the longest salt md5-crypt uses; OTRS cuts the login to it.
	md5SaltMax = 8
	md5HashLen = 22
)

// md5Crypt computes Poul-Henning Kamp's md5-crypt of password with magic
// ("$1$" or "$apr1$"; apr1 differs only in the magic) and a salt of at most 8
// bytes, and returns the 22-character hash part.
func md5Crypt(password, magic, salt string) string {
	pw := []byte(password)

	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(magic))
	ctx.Write([]byte(salt))
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	// The original walks the bits of the length and writes a NUL for a set
	// bit, the first password byte for a clear one (a known quirk, kept).
	for n := len(pw); n != 0; n >>= 1 {
		if n&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)

	// 1000 rounds, meant to slow attackers down in 1994.
	for i := 0; i < 1000; i++ {
		r := md5.New()
		if i&1 != 0 {
			r.Write(pw)
		} else {
			r.Write(final)
		}
		if i%3 != 0 {
			r.Write([]byte(salt))
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 != 0 {
			r.Write(final)
		} else {
			r.Write(pw)
		}
		final = r.Sum(final[:0])
	}

	out := make([]byte, 0, md5HashLen)
	put := func(v uint32, n int) {
		for ; n > 0; n-- {
			out = append(out, cryptAlphabet[v&0x3f])
			v >>= 6
		}
	}
	f := final
	put(uint32(f[0])<<16|uint32(f[6])<<8|uint32(f[12]), 4)
	put(uint32(f[1])<<16|uint32(f[7])<<8|uint32(f[13]), 4)
	put(uint32(f[2])<<16|uint32(f[8])<<8|uint32(f[14]), 4)
	put(uint32(f[3])<<16|uint32(f[9])<<8|uint32(f[15]), 4)
	put(uint32(f[4])<<16|uint32(f[10])<<8|uint32(f[5]), 4)
	put(uint32(f[11]), 2)
	return string(out)
}
