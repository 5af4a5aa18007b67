package catalog

// FieldType names the JSON type of field in events of typeID as the API
// documents it: "string", "integer", "phone" (E.164 string), "time" (RFC
// 3339 string), "enum" (string from EnumValues), "url", "array" or
// "event_type". A field the type does not carry is "".
func FieldType(typeID, field string) string {
	td, ok := lookupDef(typeID)
	if !ok {
		return ""
	}
	s, ok := specFor(td, field)
	if !ok {
		return "string"
	}
	switch s.kind {
	case kInt:
		return "integer"
	case kPhone:
		return "phone"
	case kTime:
		return "time"
	case kEnum:
		return "enum"
	case kURL:
		return "url"
	case kExtList, kURLList:
		return "array"
	case kEventType:
		return "event_type"
	}
	return "string"
}
