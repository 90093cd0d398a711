package ldapbackend

import (
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// field pairs a mapped attribute with its contract field.
type field struct {
	attr string
	v    *string
}

func (b *Backend) fields(u *backend.CustomerUser) []field {
	a := b.cfg.Attributes
	return []field{
		{a.Title, &u.Title}, {a.FirstName, &u.FirstName}, {a.LastName, &u.LastName},
		{a.Email, &u.Email}, {a.Phone, &u.Phone}, {a.Fax, &u.Fax}, {a.Mobile, &u.Mobile},
		{a.Street, &u.Street}, {a.Zip, &u.Zip}, {a.City, &u.City}, {a.Country, &u.Country},
		{a.Comment, &u.Comment},
	}
}

// entryUser maps an entry to a user; attribute names match case-insensitively.
func (b *Backend) entryUser(e *ldap.Entry) backend.CustomerUser {
	u := backend.CustomerUser{
		Login:  e.GetEqualFoldAttributeValue(b.cfg.LoginAttribute),
		Source: b.cfg.Name,
		Valid:  backend.Valid,
	}
	for _, f := range b.fields(&u) {
		if f.attr != "" {
			*f.v = e.GetEqualFoldAttributeValue(f.attr)
		}
	}
	if b.cfg.FixedCustomerID != "" {
		u.CustomerID = b.cfg.FixedCustomerID
	} else if b.cfg.CustomerIDAttribute != "" {
		u.CustomerID = e.GetEqualFoldAttributeValue(b.cfg.CustomerIDAttribute)
	}
	if b.cfg.CustomerIDsAttribute != "" {
		// Further IDs without the primary one and without duplicates.
		u.CustomerIDs = e.GetEqualFoldAttributeValues(b.cfg.CustomerIDsAttribute)
		all := u.AllCustomerIDs()
		if strings.TrimSpace(u.CustomerID) != "" {
			all = all[1:]
		}
		u.CustomerIDs = nil
		if len(all) > 0 {
			u.CustomerIDs = all
		}
	}
	if b.cfg.AccountControl {
		u.Valid = b.accountState(e)
	} else if b.cfg.ValidAttribute != "" {
		if v := e.GetEqualFoldAttributeValue(b.cfg.ValidAttribute); v != "" {
			if s, err := backend.ParseValidState(v); err == nil {
				u.Valid = s
			} else {
				u.Valid = backend.Invalid // unknown ids are not valid
			}
		}
	}
	for _, a := range b.cfg.ExtraAttributes {
		if v := e.GetEqualFoldAttributeValue(a); v != "" {
			if u.Attributes == nil {
				u.Attributes = map[string]string{}
			}
			u.Attributes[a] = v
		}
	}
	u.CreatedAt = parseGeneralizedTime(e.GetEqualFoldAttributeValue("createTimestamp"))
	u.ChangedAt = changedAt(e)
	return u
}

// changedAt is the stamp of the entry's last change, the one Update's
// optimistic check compares. OpenLDAP gives every change a change sequence
// number (entryCSN, "20261202194114.123456Z#000002#000#000000": the time in
// microseconds, then a counter of the changes within that microsecond); the
// stamp is that time plus the counter in nanoseconds, so that two writes
// within one microsecond still differ and every write moves it forward.
// Active Directory has no entryCSN; its modifyTimestamp counts seconds,
// but every change gives the entry a higher update sequence number
// (uSNChanged, read with AccountControl), so the stamp is modifyTimestamp
// plus the USN (modulo 10^9) in nanoseconds: every write moves it forward
// (within one second by the USN; across seconds by the second). Other
// directories give modifyTimestamp alone, whose precision is one second:
// two changes within one second then keep one stamp, and only the
// per-Backend lock of Update (not the stamp) keeps them apart.
func changedAt(e *ldap.Entry) time.Time {
	if csn := e.GetEqualFoldAttributeValue("entryCSN"); csn != "" {
		if t, ok := parseCSN(csn); ok {
			return t
		}
	}
	t := parseGeneralizedTime(e.GetEqualFoldAttributeValue("modifyTimestamp"))
	if usn := e.GetEqualFoldAttributeValue(attrUSNChanged); usn != "" && !t.IsZero() {
		if n, err := strconv.ParseUint(usn, 10, 64); err == nil {
			t = t.Truncate(time.Second).Add(time.Duration(n % 1e9))
		}
	}
	return t
}

// parseCSN reads an OpenLDAP change sequence number (see changedAt).
func parseCSN(csn string) (time.Time, bool) {
	ts, rest, ok := strings.Cut(csn, "#")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102150405.999999Z", ts)
	if err != nil {
		return time.Time{}, false
	}
	count, _, _ := strings.Cut(rest, "#")
	n, err := strconv.ParseUint(count, 16, 32)
	if err != nil || n >= 1000 {
		return time.Time{}, false
	}
	return t.UTC().Add(time.Duration(n)), true
}

// parseGeneralizedTime reads the GeneralizedTime of createTimestamp and
// modifyTimestamp: OpenLDAP "20060102150405Z", Active Directory
// "20060102150405.0Z", or with a numeric offset. Unparsable gives zero.
func parseGeneralizedTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if strings.IndexByte(s, ',') >= 0 {
		s = strings.Replace(s, ",", ".", 1)
	}
	for _, layout := range generalizedTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// generalizedTimeLayouts are tried in order; the first is OpenLDAP's form.
var generalizedTimeLayouts = []string{"20060102150405Z0700", "20060102150405.999999999Z0700", "200601021504Z0700"}
