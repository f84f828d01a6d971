package api

import (
	"encoding/hex"
	"encoding/json"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Hand-rolled JSON appenders for the hot paths (batch results, block events).
// The other answers are small and rare and go through encoding/json.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Control characters, quotes and
// backslashes are escaped; invalid UTF-8 becomes U+FFFD, so the output is always
// valid JSON whatever a message contains.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendHexString appends b as a quoted lower-case hex string.
func appendHexString(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, b)
	return append(dst, '"')
}

// writeJSON answers status with v encoded by encoding/json.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err // a bug: every answer type marshals
	}
	b = append(b, '\n')
	ctx.Response.Header.SetContentType(contentJSON)
	ctx.Response.SetStatusCode(status)
	ctx.Response.SetBodyRaw(b)
	return nil
}
