package main

// splitReplayLine extracts the raw "at" string and the raw "alert" object
// of a replay line without a full JSON decode (the alert is decoded and
// validated by the ingest decoder afterwards). ok is false when the line
// is not a plain JSON object; the caller then falls back to encoding/json
// for a precise error message.
func splitReplayLine(b []byte) (at string, alert []byte, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", nil, false
	}
	i++
	for {
		i = skipWS(b, i)
		if i < len(b) && b[i] == '}' {
			return at, alert, skipWS(b, i+1) == len(b)
		}
		ks, ke, esc, next := scanString(b, i)
		if next < 0 || esc {
			return "", nil, false
		}
		key := b[ks:ke]
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return "", nil, false
		}
		i = skipWS(b, i+1)
		vs := i
		ve := scanValue(b, i)
		if ve < 0 {
			return "", nil, false
		}
		switch string(key) {
		case "at":
			s, e, esc, _ := scanString(b, vs)
			if e < 0 || esc {
				return "", nil, false
			}
			at = string(b[s:e])
		case "alert":
			alert = b[vs:ve]
		}
		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			return at, alert, skipWS(b, i+1) == len(b)
		}
		return "", nil, false
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString scans a JSON string starting at b[i] == '"'. It returns the
// content bounds, whether it contains escapes, and the index after it (or
// next < 0 if malformed).
func scanString(b []byte, i int) (start, end int, esc bool, next int) {
	if i >= len(b) || b[i] != '"' {
		return 0, -1, false, -1
	}
	start = i + 1
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return start, j, esc, j + 1
		}
	}
	return 0, -1, false, -1
}

// scanValue returns the index just after the JSON value at b[i], or -1.
func scanValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, _, _, next := scanString(b, i)
		return next
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, _, _, next := scanString(b, j)
				if next < 0 {
					return -1
				}
				j = next - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
