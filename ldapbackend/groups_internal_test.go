package ldapbackend

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInChainFilter(t *testing.T) {
	assert.Equal(t, `(member:1.2.840.113556.1.4.1941:=CN=Doe\5c, Jane \28x\29\2a,OU=Users,DC=corp,DC=example)`,
		inChainFilter("member", `CN=Doe\, Jane (x)*,OU=Users,DC=corp,DC=example`))
	assert.Equal(t, `(member:1.2.840.113556.1.4.1941:=cn=a\00b)`, inChainFilter("member", "cn=a\x00b"))
}

func TestIsAttributeName(t *testing.T) {
	for _, ok := range []string{"member", "uniqueMember", "memberOf", "1.2.840.113556.1.4.1941", "x-custom"} {
		assert.True(t, isAttributeName(ok), ok)
	}
	for _, bad := range []string{"", "member)(x=*", "mem ber", "memberOf:1.2.3:", "ä"} {
		assert.False(t, isAttributeName(bad), bad)
	}
}
