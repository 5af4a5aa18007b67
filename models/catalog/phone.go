package catalog

import (
	"slices"
	"strings"
	"unicode"
)

// Country is what the phone normaliser knows of a country: its calling code
// and the length of its national significant numbers (without the trunk
// prefix), which tells a national number from one that already carries the
// calling code.
type Country struct {
	// Code is the ISO 3166-1 alpha-2 code, upper case ("IN").
	Code string
	// Name is the English short name shown in pickers.
	Name string
	// CallingCode is the ITU-T E.164 country calling code without '+' ("91").
	CallingCode string
	// MinLen and MaxLen bound the national significant number's digits.
	MinLen, MaxLen int
	// Trunk is the national trunk prefix dropped before the calling code is
	// added ("0" in India, "" where there is none).
	Trunk string
}

// countries is the one table of supported default countries, by code. Only
// countries whose national and international digit lengths cannot overlap
// are listed (TestCountriesUnambiguous pins that), so a bare number is never
// read two ways. NANP countries (US, CA) have no trunk 0: "1" + ten digits is
// recognised as the calling code form.
var countries = []Country{
	{Code: "AE", Name: "United Arab Emirates", CallingCode: "971", MinLen: 8, MaxLen: 9, Trunk: "0"},
	{Code: "AU", Name: "Australia", CallingCode: "61", MinLen: 9, MaxLen: 9, Trunk: "0"},
	{Code: "BD", Name: "Bangladesh", CallingCode: "880", MinLen: 10, MaxLen: 10, Trunk: "0"},
	{Code: "CA", Name: "Canada", CallingCode: "1", MinLen: 10, MaxLen: 10},
	{Code: "ES", Name: "Spain", CallingCode: "34", MinLen: 9, MaxLen: 9},
	{Code: "FR", Name: "France", CallingCode: "33", MinLen: 9, MaxLen: 9, Trunk: "0"},
	{Code: "GB", Name: "United Kingdom", CallingCode: "44", MinLen: 9, MaxLen: 10, Trunk: "0"},
	{Code: "IE", Name: "Ireland", CallingCode: "353", MinLen: 7, MaxLen: 9, Trunk: "0"},
	{Code: "IN", Name: "India", CallingCode: "91", MinLen: 10, MaxLen: 10, Trunk: "0"},
	{Code: "KE", Name: "Kenya", CallingCode: "254", MinLen: 9, MaxLen: 9, Trunk: "0"},
	{Code: "LK", Name: "Sri Lanka", CallingCode: "94", MinLen: 9, MaxLen: 9, Trunk: "0"},
	{Code: "MY", Name: "Malaysia", CallingCode: "60", MinLen: 9, MaxLen: 10, Trunk: "0"},
	{Code: "NG", Name: "Nigeria", CallingCode: "234", MinLen: 8, MaxLen: 10, Trunk: "0"},
	{Code: "NL", Name: "Netherlands", CallingCode: "31", MinLen: 9, MaxLen: 9, Trunk: "0"},
	{Code: "PH", Name: "Philippines", CallingCode: "63", MinLen: 10, MaxLen: 10, Trunk: "0"},
	{Code: "PK", Name: "Pakistan", CallingCode: "92", MinLen: 10, MaxLen: 10, Trunk: "0"},
	{Code: "SA", Name: "Saudi Arabia", CallingCode: "966", MinLen: 9, MaxLen: 9, Trunk: "0"},
	{Code: "SG", Name: "Singapore", CallingCode: "65", MinLen: 8, MaxLen: 8},
	{Code: "US", Name: "United States", CallingCode: "1", MinLen: 10, MaxLen: 10},
	{Code: "ZA", Name: "South Africa", CallingCode: "27", MinLen: 9, MaxLen: 9, Trunk: "0"},
}

// DefaultCountry is the default country of accounts created without one:
// Ringhook serves an Indian PBX first, and the demo account's numbers are +91.
const DefaultCountry = "IN"

// Countries returns the supported default countries, by code.
func Countries() []Country { return slices.Clone(countries) }

// LookupCountry returns the supported country with the ISO 3166-1 alpha-2
// code (case-insensitive).
func LookupCountry(code string) (Country, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	i := slices.IndexFunc(countries, func(c Country) bool { return c.Code == code })
	if i < 0 {
		return Country{}, false
	}
	return countries[i], true
}

// NormalizePhone turns a phone number as people type it and producers send
// it into E.164 with a leading '+', reporting whether it could. country is
// the account's default country (ISO 3166-1 alpha-2); "" or an unsupported
// code means there is none. This is the one phone normaliser: My Numbers and
// event ingest both use it, so a DID typed into the console and the same DID
// in an event end up equal. The rules:
//
//   - white space, '-', '.', '(' and ')' are removed;
//   - '+' or "00" (the international call prefix) followed by 7 to 15
//     digits, the first not 0, is international and kept as is;
//   - with a default country, bare digits that start with its calling code
//     and then have a national number's length are taken as already
//     international (Smartflo's "918287842425");
//   - with a default country, a national number, with or without the trunk
//     prefix ("08287842425", "8287842425"), gets the calling code;
//   - anything else (extensions, short codes, bare digits without a default
//     country, lengths that fit neither form) is not guessed at.
//
// When ok is false the returned string is the input unchanged.
func NormalizePhone(s, country string) (string, bool) {
	cleaned := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		switch r {
		case '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	intl, international := strings.CutPrefix(cleaned, "+")
	if !international {
		intl, international = strings.CutPrefix(cleaned, "00")
	}
	if international {
		if n := len(intl); n < 7 || n > 15 || intl[0] == '0' || !allDigits(intl) {
			return s, false
		}
		return "+" + intl, true
	}
	c, known := LookupCountry(country)
	if !known || cleaned == "" || !allDigits(cleaned) {
		return s, false
	}
	if rest, ok := strings.CutPrefix(cleaned, c.CallingCode); ok && rest != "" && rest[0] != '0' && c.fits(rest) {
		return "+" + cleaned, true
	}
	national := cleaned
	if c.Trunk != "" {
		national = strings.TrimPrefix(cleaned, c.Trunk)
	}
	if national != "" && national[0] != '0' && c.fits(national) {
		return "+" + c.CallingCode + national, true
	}
	return s, false
}

// NormalizeE164 is NormalizePhone without a default country: only numbers
// in international form ('+' or "00") are recognised.
func NormalizeE164(s string) (string, bool) { return NormalizePhone(s, "") }

// fits reports whether national has the length of a national significant number.
func (c Country) fits(national string) bool {
	return len(national) >= c.MinLen && len(national) <= c.MaxLen && len(c.CallingCode)+len(national) <= 15
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
