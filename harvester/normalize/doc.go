// Package normalize turns the strings portals write (licences, formats,
// dates, themes, identifiers, HTML descriptions) into the normalised values
// of the record contract (moisson.v1.Dataset).
//
// Every mapping is a table: one Go variable of rows, each row carrying the
// examples that must map to it, and the tests iterate the tables themselves,
// so a new row cannot come without a case:
//
//	licenses, ccKinds  License, LicenseLabel
//	formats            Format, FormatFromURL, MediaType
//	timeLayouts, months Time
//	themes             Themes (EU data themes)
//	scdlTable          SCDL, SCDLItems
//
// The rules each table follows are written above it and summarised in
// README.md. Only the standard library is used.
package normalize
