package loadgen

import (
	"strconv"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

// userAgent names the load generator in the servers' logs.
const userAgent = "keyhaven-load"

// render writes c as an HTTP/1.1 request into dst (reused: its contents
// are replaced) and returns it.
func (s *session) render(dst []byte, c call) ([]byte, error) {
	if s.auth == AuthAKSK && !c.noAuth {
		return s.renderSigned(dst, c)
	}
	dst = append(dst[:0], c.method...)
	dst = append(dst, ' ')
	dst = append(dst, s.ep.prefix...)
	dst = append(dst, c.path...)
	if len(c.query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, c.query.Encode()...)
	}
	dst = s.appendHost(dst)
	if !c.noAuth {
		dst = appendField(dst, "X-Auth-Token", s.token)
	}
	if c.mv != "" {
		dst = append(dst, "OpenStack-API-Version: compute "...)
		dst = append(append(dst, c.mv...), "\r\n"...)
	}
	return appendBody(dst, c.body), nil
}

// renderSigned writes c signed with the Huawei Cloud SDK's own signer.
// The request the SDK builds is rendered as it is, headers and all, so
// that what is sent is what was signed. Each request carries a signed
// nonce header: keyhaven refuses a signed request that would change
// something when it sees its signature twice, and two identical requests
// in the same second would sign alike.
func (s *session) renderSigned(dst []byte, c call) ([]byte, error) {
	b := request.NewHttpRequestBuilder().WithEndpoint(s.base).WithMethod(c.method).WithPath(c.path).
		AddHeaderParam("X-Load-Nonce", s.noncePrefix+strconv.FormatInt(s.nonce.Add(1), 10))
	for k, vs := range c.query {
		for _, v := range vs {
			b = b.AddQueryParam(k, v)
		}
	}
	if c.body != "" {
		b = b.AddHeaderParam("Content-Type", "application/json").WithBody("", c.body)
	}
	if c.mv != "" {
		b = b.AddHeaderParam("OpenStack-API-Version", "compute "+c.mv)
	}
	r := b.Build()
	hdrs, err := signer.Sign(r, s.ak, s.sk)
	if err != nil {
		return nil, err
	}
	for k, v := range hdrs {
		r.AddHeaderParam(k, v)
	}
	hr, err := r.ConvertRequest()
	if err != nil {
		return nil, err
	}
	dst = append(dst[:0], hr.Method...)
	dst = append(dst, ' ')
	dst = append(dst, hr.URL.RequestURI()...)
	dst = s.appendHost(dst)
	for k, vs := range hr.Header {
		switch k {
		case "Host", "User-Agent", "Content-Type", "Content-Length":
			continue // written by appendHost and appendBody
		}
		for _, v := range vs {
			dst = appendField(dst, k, v)
		}
	}
	return appendBody(dst, c.body), nil
}

// appendHost ends the request line and writes the fields every request
// has.
func (s *session) appendHost(dst []byte) []byte {
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, s.ep.host...)
	return append(dst, "\r\nUser-Agent: "+userAgent+"\r\n"...)
}

func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// appendBody ends the header section and writes the body, a JSON
// document when there is one. A request without a body gets no
// Content-Length, as net/http sends a GET or DELETE.
func appendBody(dst []byte, body string) []byte {
	if body == "" {
		return append(dst, "\r\n"...)
	}
	dst = append(dst, "Content-Type: application/json\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}
