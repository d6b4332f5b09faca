package dav

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Namespaces and the prefixes Kalends writes them with. Fixed prefixes keep
// responses small and readable; any other namespace is declared where used.
const (
	nsDAV    = "DAV:"
	nsCalDAV = "urn:ietf:params:xml:ns:caldav"
	nsCS     = "http://calendarserver.org/ns/"
	nsICal   = "http://apple.com/ns/ical/"
)

var fixedPrefixes = map[string]string{nsDAV: "D", nsCalDAV: "C", nsCS: "CS", nsICal: "ICAL"}

const rootNamespaces = ` xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" xmlns:ICAL="http://apple.com/ns/ical/"`

// node is a parsed request element. Request bodies are small (bounded by
// maxXMLBody), so a tree is simpler and safer to walk than a token stream.
type node struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*node
	Text     string // character data directly inside, concatenated
	// Inner is the element's content re-serialized as self-contained XML:
	// every element declares its own namespace, so it can be stored and
	// written back anywhere (dead properties).
	Inner string
	// Lang is the xml:lang in scope: the element's own or an ancestor's.
	Lang string
}

func (n *node) child(space, local string) *node {
	for _, c := range n.Children {
		if c.Name.Space == space && c.Name.Local == local {
			return c
		}
	}
	return nil
}

func (n *node) is(space, local string) bool { return n.Name.Space == space && n.Name.Local == local }

func (n *node) attr(local string) string {
	for _, a := range n.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// Limits of request bodies. A body larger than maxXMLBody or nested deeper
// than maxXMLDepth is refused before it costs memory.
const (
	maxXMLBody  = 1 << 20
	maxXMLDepth = 64
)

var (
	errXMLTooLarge = errors.New("XML body too large")
	errXMLDTD      = errors.New("XML DTDs and entity declarations are not accepted")
)

// parseXML reads a bounded XML body into a tree. An empty body gives (nil,
// nil): several methods treat that as a default request.
func parseXML(r io.Reader) (*node, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxXMLBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxXMLBody {
		return nil, errXMLTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true // undeclared entities are errors: no entity expansion at all
	var stack []*node
	var inner []*strings.Builder
	var scopes []map[string]bool // namespaces declared on each open element
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errXMLDTD
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return nil, errors.New("XML nested too deeply")
			}
			scope := declaredNamespaces(t.Attr)
			scopes = append(scopes, scope)
			if err := checkNamespacesDeclared(t, scopes); err != nil {
				return nil, err
			}
			n := &node{Name: t.Name, Attr: t.Attr}
			if len(stack) > 0 {
				n.Lang = stack[len(stack)-1].Lang
			}
			for _, a := range t.Attr {
				if a.Name.Space == xmlNamespace && a.Name.Local == "lang" {
					n.Lang = a.Value
				}
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("XML has several root elements")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			for _, b := range inner {
				writeSelfContainedStart(b, t)
			}
			stack = append(stack, n)
			inner = append(inner, &strings.Builder{})
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Inner = inner[len(inner)-1].String()
			stack, inner, scopes = stack[:len(stack)-1], inner[:len(inner)-1], scopes[:len(scopes)-1]
			for _, b := range inner {
				b.WriteString("</")
				b.WriteString(t.Name.Local)
				b.WriteString(">")
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
				for _, b := range inner {
					xml.EscapeText(b, t)
				}
			}
		}
	}
	if root == nil {
		return nil, errors.New("XML body has no element")
	}
	return root, nil
}

// declaredNamespaces are the namespace names an element's attributes bind.
func declaredNamespaces(attrs []xml.Attr) map[string]bool {
	var scope map[string]bool
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			if scope == nil {
				scope = map[string]bool{}
			}
			scope[a.Value] = true
		}
	}
	return scope
}

// xmlNamespace is what encoding/xml gives the reserved "xml" prefix.
const xmlNamespace = "http://www.w3.org/XML/1998/namespace"

// checkNamespacesDeclared refuses a prefix bound nowhere. encoding/xml
// reads an unbound prefix as if it were the namespace name, so a client's
// typo "ical:calendar-color" would silently set a property in a namespace
// called "ical" and the client would believe it had set the colour.
func checkNamespacesDeclared(t xml.StartElement, scopes []map[string]bool) error {
	declared := func(space string) bool {
		if space == "" || space == xmlNamespace {
			return true
		}
		for _, sc := range scopes {
			if sc[space] {
				return true
			}
		}
		return false
	}
	if !declared(t.Name.Space) {
		return fmt.Errorf("undeclared namespace prefix %q", t.Name.Space)
	}
	for _, a := range t.Attr {
		if a.Name.Space != "xmlns" && !declared(a.Name.Space) {
			return fmt.Errorf("undeclared namespace prefix %q", a.Name.Space)
		}
	}
	return nil
}

// writeSelfContainedStart writes a start tag that declares its own default
// namespace, and a prefix for each namespaced attribute.
func writeSelfContainedStart(b *strings.Builder, t xml.StartElement) {
	b.WriteString("<")
	b.WriteString(t.Name.Local)
	b.WriteString(` xmlns="`)
	xml.EscapeText(b, []byte(t.Name.Space))
	b.WriteString(`"`)
	writeSelfContainedAttrs(b, t.Attr)
	b.WriteString(">")
}

// writeSelfContainedAttrs writes attributes, each with a space before it,
// leaving out namespace declarations and declaring a prefix for each
// namespaced attribute beside it, so the text stays valid on any element.
// The reserved xml: prefix (xml:lang, xml:space) is written as itself: it
// is bound everywhere and may not be bound to another prefix.
func writeSelfContainedAttrs(b *strings.Builder, attrs []xml.Attr) {
	for i, a := range attrs {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			continue
		}
		b.WriteString(" ")
		switch a.Name.Space {
		case "":
		case xmlNamespace:
			b.WriteString("xml:")
		default:
			p := "a" + strconv.Itoa(i)
			fmt.Fprintf(b, `xmlns:%s="`, p)
			xml.EscapeText(b, []byte(a.Name.Space))
			b.WriteString(`" ` + p + ":")
		}
		b.WriteString(a.Name.Local)
		b.WriteString(`="`)
		xml.EscapeText(b, []byte(a.Value))
		b.WriteString(`"`)
	}
}

// propertyAttrs is the attribute text a dead property keeps of its own
// element (RFC 4918 §4.3): every attribute but namespace declarations, and
// the xml:lang in scope when an ancestor (DAV:prop, DAV:set, ...) set it.
func (n *node) propertyAttrs() string {
	attrs := n.Attr
	if n.Lang != "" && !slices.ContainsFunc(attrs, func(a xml.Attr) bool {
		return a.Name.Space == xmlNamespace && a.Name.Local == "lang"
	}) {
		attrs = append(slices.Clip(attrs), xml.Attr{Name: xml.Name{Space: xmlNamespace, Local: "lang"}, Value: n.Lang})
	}
	var b strings.Builder
	writeSelfContainedAttrs(&b, attrs)
	return b.String()
}

// xmlWriter writes response XML straight to the client. It knows the fixed
// prefixes; other namespaces are declared on the element that uses them.
type xmlWriter struct {
	w *bufio.Writer
}

func newXMLWriter(w io.Writer) *xmlWriter { return &xmlWriter{w: bufio.NewWriterSize(w, 32<<10)} }

func (x *xmlWriter) raw(s string) { x.w.WriteString(s) }

func (x *xmlWriter) text(s string) { writeEscaped(x.w, s) }

// qname returns the tag name to write and, for a namespace without a fixed
// prefix, the declaration to add to the start tag.
func qname(space, local string) (tag, decl string) {
	if p, ok := fixedPrefixes[space]; ok {
		return p + ":" + local, ""
	}
	if space == "" {
		return local, ` xmlns=""`
	}
	var b strings.Builder
	b.WriteString(` xmlns:X="`)
	xml.EscapeText(&b, []byte(space))
	b.WriteString(`"`)
	return "X:" + local, b.String()
}

// element writes <name>inner</name>, inner being trusted XML.
func (x *xmlWriter) element(space, local, inner string) {
	x.elementWithAttrs(space, local, "", inner)
}

// elementWithAttrs writes <name attrs>inner</name>; attrs is self-contained
// attribute text (propertyAttrs), each attribute with a space before it.
func (x *xmlWriter) elementWithAttrs(space, local, attrs, inner string) {
	x.w.WriteByte('<')
	x.name(space, local, true)
	x.w.WriteString(attrs)
	if inner == "" {
		x.w.WriteString("/>")
		return
	}
	x.w.WriteByte('>')
	x.w.WriteString(inner)
	x.end(space, local)
}

// textElement writes <name>escaped text</name>.
func (x *xmlWriter) textElement(space, local, text string) {
	x.w.WriteByte('<')
	x.name(space, local, true)
	x.w.WriteByte('>')
	x.text(text)
	x.end(space, local)
}

func (x *xmlWriter) end(space, local string) {
	x.w.WriteString("</")
	x.name(space, local, false)
	x.w.WriteByte('>')
}

// name writes an element's name, piece by piece (answers have thousands),
// with its namespace declaration in a start tag.
func (x *xmlWriter) name(space, local string, start bool) {
	if p, ok := fixedPrefixes[space]; ok {
		x.w.WriteString(p)
		x.w.WriteByte(':')
		x.w.WriteString(local)
		return
	}
	tag, decl := qname(space, local)
	x.w.WriteString(tag)
	if start {
		x.w.WriteString(decl)
	}
}

func (x *xmlWriter) flush() error { return x.w.Flush() }

// escapeString returns s escaped as XML text.
func escapeString(s string) string {
	if at, _, _ := nextEscape(s, 0); at == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/16 + 16)
	writeEscaped(&b, s)
	return b.String()
}

func writeEscaped(w io.StringWriter, s string) {
	for i := 0; ; {
		at, esc, width := nextEscape(s, i)
		w.WriteString(s[i:at])
		if at == len(s) {
			return
		}
		w.WriteString(esc)
		i = at + width
	}
}

// textSafe marks the ASCII bytes XML text carries as they are.
var textSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 0x20 || c == '\n' || c == '\t'
	}
	t['&'], t['<'], t['>'] = false, false, false
	return t
}()

// nextEscape finds the first character at or after i that XML text cannot
// carry as it is, and returns its offset, what to write instead and how
// many bytes that replaces; at is len(s) when there is none. Only what XML
// needs is escaped, unlike xml.EscapeText, which also turns every quote of
// every ETag into &#34;. A carriage return is written as &#13; because XML
// parsers fold a literal CRLF to LF, and calendar-data must reach the
// client with the CRLFs it was stored with. Characters XML cannot carry
// (controls, U+FFFE, U+FFFF, and each byte of invalid UTF-8, surrogates
// included) become U+FFFD, as with xml.EscapeText. Calendar data is ASCII
// almost throughout, so that is the path kept short.
func nextEscape(s string, i int) (at int, esc string, width int) {
	for ; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if textSafe[c] {
				continue
			}
			switch c {
			case '&':
				return i, "&amp;", 1
			case '<':
				return i, "&lt;", 1
			case '>':
				return i, "&gt;", 1
			case '\r':
				return i, "&#13;", 1
			}
			return i, "\uFFFD", 1
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			return i, "\uFFFD", size
		}
		i += size - 1
	}
	return len(s), "", 0
}

// hrefXML is a DAV:href element's inner XML for a path.
func hrefXML(path string) string { return "<D:href>" + escapeString(path) + "</D:href>" }
