module github.com/veilsign/veilsign/bench

go 1.27.3

require (
	github.com/digitorus/pdf v0.1.2
	github.com/digitorus/pdfsign v0.0.0-20260102145623-a2800162ff5c
	github.com/pdfcpu/pdfcpu v0.15.0
	github.com/veilsign/veilsign v0.0.0
)

require (
	github.com/digitorus/pkcs7 v0.0.0-20260914070511-d678ea5ea03f // indirect
	github.com/digitorus/timestamp v0.0.0-20260914073129-b4b58b92aa51 // indirect
	github.com/hhrutter/tiff v1.0.6 // indirect
	github.com/mattetti/filebuffer v1.0.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/image v0.47.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace github.com/veilsign/veilsign => ../
