package store

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// parseSQLServerURL checks go-mssqldb's own sqlserver:// form. Encryption
// is on unless the URL turns it off.
func parseSQLServerURL(raw, redacted string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("database URL %q: %s", redacted, cleanURLError(err))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("database URL %q: missing host", redacted)
	}
	// go-mssqldb reads keys case-insensitively and refuses one given
	// twice, so "Encrypt=disable" must not gain an "encrypt=true".
	q := u.Query()
	if firstKey(q, "encrypt") == "" {
		q.Set("encrypt", "true")
	}
	u.RawQuery = q.Encode()
	return u, nil
}

// parseSQLAlchemyMSSQL maps a SQLAlchemy SQL Server URL onto go-mssqldb's
// sqlserver:// form. Encryption is on unless the URL turns it off.
func parseSQLAlchemyMSSQL(raw, redacted string) (*url.URL, error) {
	// SQLAlchemy writes a named instance as host\instance (often
	// percent-encoded), which url.Parse refuses in a host: take it out first.
	raw, instance := cutInstance(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("database URL %q: %s", redacted, cleanURLError(err))
	}
	out := &url.URL{Scheme: "sqlserver"}
	q := url.Values{}
	in := u.Query()

	if odbc := firstKey(in, "odbc_connect"); odbc != "" {
		if err := applyODBC(odbc, out, q); err != nil {
			return nil, fmt.Errorf("database URL %q: odbc_connect: %w", redacted, err)
		}
	} else {
		if u.Host == "" {
			return nil, fmt.Errorf("database URL %q: missing host", redacted)
		}
		out.Host = u.Host
		out.User = u.User
		if instance != "" {
			out.Path = "/" + instance
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			q.Set("database", db)
		}
	}

	for key, vals := range in {
		if len(vals) == 0 {
			continue
		}
		if err := applyOption(key, vals[0], q); err != nil {
			return nil, fmt.Errorf("database URL %q: %w", redacted, err)
		}
	}
	if q.Get("encrypt") == "" {
		q.Set("encrypt", "true")
	}
	out.RawQuery = q.Encode()
	return out, nil
}

// delKey removes key from v in every spelling of its case.
func delKey(v url.Values, key string) {
	for k := range v {
		if strings.EqualFold(k, key) {
			delete(v, k)
		}
	}
}

func firstKey(v url.Values, key string) string {
	for k, vals := range v {
		if strings.EqualFold(k, key) && len(vals) > 0 {
			return vals[0]
		}
	}
	return ""
}

// applyOption maps one SQLAlchemy/ODBC query key onto go-mssqldb.
func applyOption(key, val string, q url.Values) error {
	switch strings.ToLower(strings.ReplaceAll(key, " ", "")) {
	case "driver", "odbc_connect", "autocommit", "fast_executemany":
		// ODBC driver selection has no meaning for a native driver.
	case "encrypt":
		v, err := encryptValue(val)
		if err != nil {
			return err
		}
		q.Set("encrypt", v)
	case "trustservercertificate":
		b, err := yesNo(val)
		if err != nil {
			return fmt.Errorf("TrustServerCertificate: %w", err)
		}
		q.Set("TrustServerCertificate", strconv.FormatBool(b))
	case "connectiontimeout", "connection_timeout", "timeout", "logintimeout":
		// ODBC's login timeout. go-mssqldb's "connection timeout" is not
		// that: it is a deadline on every read of the connection's whole
		// life, which would cut off a statement that waits on a lock. The
		// dial timeout is the nearest match.
		if n, err := strconv.Atoi(val); err != nil || n < 0 {
			return fmt.Errorf("%s: %q is not a whole number of seconds", key, val)
		}
		q.Set("dial timeout", val)
	case "applicationintent":
		q.Set("ApplicationIntent", val)
	case "multisubnetfailover":
		b, err := yesNo(val)
		if err != nil {
			return fmt.Errorf("MultiSubnetFailover: %w", err)
		}
		q.Set("MultiSubnetFailover", strconv.FormatBool(b))
	case "hostnameincertificate":
		q.Set("hostNameInCertificate", val)
	case "app", "applicationname":
		q.Set("app name", val)
	case "database":
		q.Set("database", val)
	default:
		// Unknown keys are ignored: the API's URL may carry options meant
		// for pyodbc alone.
	}
	return nil
}

// applyODBC reads a "Key=Value;..." ODBC connection string.
func applyODBC(s string, out *url.URL, q url.Values) error {
	pairs, err := splitODBC(s)
	if err != nil {
		return err
	}
	var user, pass string
	for _, kv := range pairs {
		k, v := strings.ToLower(kv[0]), kv[1]
		switch k {
		case "server", "address", "addr":
			v = strings.TrimPrefix(v, "tcp:")
			host, port, _ := strings.Cut(v, ",")
			if h, inst, ok := strings.Cut(host, `\`); ok {
				host = h
				out.Path = "/" + inst
			}
			out.Host = host
			if port != "" {
				out.Host = host + ":" + port
			}
		case "database", "initial catalog":
			q.Set("database", v)
		case "uid", "user id", "user":
			user = v
		case "pwd", "password":
			pass = v
		default:
			if err := applyOption(k, v, q); err != nil {
				return err
			}
		}
	}
	if out.Host == "" {
		return errors.New("missing Server")
	}
	if user != "" {
		out.User = url.UserPassword(user, pass)
	}
	return nil
}

// splitODBC cuts an ODBC connection string into its key-value pairs. A
// value in braces may hold ";" and "=" ("}}" is a literal "}"), as a
// password often does.
func splitODBC(s string) ([][2]string, error) {
	var pairs [][2]string
	for i := 0; i < len(s); {
		eq := strings.IndexByte(s[i:], '=')
		semi := strings.IndexByte(s[i:], ';')
		if eq < 0 || (semi >= 0 && semi < eq) {
			// A part with no "=" (or an empty one) carries nothing.
			if semi < 0 {
				break
			}
			i += semi + 1
			continue
		}
		key := strings.TrimSpace(s[i : i+eq])
		i += eq + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var val string
		if i < len(s) && s[i] == '{' {
			var b strings.Builder
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '}' {
					if i+1 < len(s) && s[i+1] == '}' {
						b.WriteByte('}')
						i++
						continue
					}
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
			}
			if !closed {
				return nil, fmt.Errorf("%s: value opened with { is never closed", key)
			}
			val = b.String()
			if j := strings.IndexByte(s[i:], ';'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
		} else {
			end := strings.IndexByte(s[i:], ';')
			if end < 0 {
				end = len(s) - i
			}
			val = strings.TrimSpace(s[i : i+end])
			i += end + 1
		}
		pairs = append(pairs, [2]string{key, val})
	}
	return pairs, nil
}

func encryptValue(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1", "mandatory", "on":
		return "true", nil
	case "no", "false", "0", "optional", "off":
		return "false", nil
	case "strict":
		return "strict", nil
	case "disable":
		return "disable", nil
	}
	return "", fmt.Errorf("option Encrypt=%q is not one of yes, no, mandatory, optional, strict or disable", v)
}

func yesNo(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", v)
}

// cutInstance removes a named instance ("\\NAME" or "%5CNAME") from the
// host of raw and returns it separately.
func cutInstance(raw string) (string, string) {
	scheme, rest, _ := strings.Cut(raw, "://")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	hostStart := strings.LastIndex(authority, "@") + 1
	host := authority[hostStart:]
	for _, sep := range []string{`\`, "%5C", "%5c"} {
		if h, inst, ok := strings.Cut(host, sep); ok {
			port := ""
			if i := strings.LastIndex(inst, ":"); i >= 0 {
				inst, port = inst[:i], inst[i:]
			}
			return scheme + "://" + authority[:hostStart] + h + port + tail, inst
		}
	}
	return raw, ""
}
