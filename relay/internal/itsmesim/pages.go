package itsmesim

import (
	"html/template"
	"net/http"
	"net/url"
)

// The pages are plain HTML: the authorise page waits by reloading itself into the long
// poll (a meta refresh works without JavaScript), and the phone page is forms. Their
// links are relative, so the simulator works under any mount prefix (the relay serves it
// under /itsme/): the waiting page is served at oauth2/authorize and oauth2/wait, the
// phone page at app.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>itsme® simulator</title>
<style>body{font-family:sans-serif;max-width:30em;margin:2em auto;padding:0 1em}
.card{border:1px solid #ccc;border-radius:8px;padding:1em;margin:1em 0}.consent{background:#fff4e5;padding:.5em}
button{padding:.5em 1em;margin-right:.5em}</style>{{end}}

{{define "message"}}{{template "head"}}</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>{{end}}

{{define "waiting"}}{{template "head"}}
<meta http-equiv="refresh" content="0;url={{.Wait}}"></head><body>
<h1>Confirm with itsme®</h1>
<p>Open the itsme® app on your phone and {{if eq .Scope "credential"}}confirm the signature{{else}}confirm your identity{{end}}.</p>
{{if .Description}}<p>“{{.Description}}”</p>{{end}}
<p><small>This page continues by itself once you have answered. (Simulator: the phone is at <a href="../app" target="_blank">app</a>.)</small></p>
</body></html>{{end}}

{{define "app"}}{{template "head"}}</head><body>
<h1>itsme® — your phone</h1>
{{if .Msg}}<p><strong>{{.Msg}}</strong></p>{{end}}
{{range .Requests}}<div class="card">
<p><strong>{{.Name}}</strong></p>
{{if .FirstTime}}<div class="consent"><h2>Create your qualified certificate</h2>
<p>itsme® will create a qualified certificate in your name, with which you can sign documents with the value of a handwritten signature. This is asked once.</p></div>{{end}}
{{if eq .Scope "credential"}}<p>Sign: “{{.Description}}”</p><p>{{.Hashes}} {{if eq .Hashes 1}}document{{else}}documents{{end}} to sign</p>
{{else}}<p>Identify yourself to the signing application.</p>{{end}}
<form method="post" action="app/approve">
<input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="user" value="{{$.User}}">
{{if .FirstTime}}<p><label><input type="checkbox" name="consent" value="yes" required> I agree to the creation of my certificate</label></p>{{end}}
<p><label>itsme® code <input type="password" name="pin" inputmode="numeric" autocomplete="off" required></label></p>
<button type="submit">Approve</button><button type="submit" formaction="app/decline" formnovalidate>Decline</button>
</form></div>
{{else}}<p>No request waiting.</p>{{end}}
<p><a href="">Refresh</a></p>
</body></html>{{end}}
`))

func render(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	pages.ExecuteTemplate(w, name, data)
}

func messagePage(w http.ResponseWriter, status int, title, text string) {
	render(w, status, "message", map[string]string{"Title": title, "Text": text})
}

func waitingPage(w http.ResponseWriter, r *request) {
	// Relative to oauth2/authorize and oauth2/wait, where this page is served.
	render(w, http.StatusOK, "waiting", map[string]string{"Wait": "wait?k=" + url.QueryEscape(r.waitKey), "Scope": r.scope, "Description": r.description})
}

func appPage(w http.ResponseWriter, list []Request, user, msg string) {
	render(w, http.StatusOK, "app", map[string]any{"Requests": list, "User": user, "Msg": msg})
}
