package ldapbackend

import (
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
	if b.cfg.ValidAttribute != "" {
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
	u.ChangedAt = parseGeneralizedTime(e.GetEqualFoldAttributeValue("modifyTimestamp"))
	return u
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
