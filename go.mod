module github.com/ecomopti/ecomopti

go 1.26.8

require (
	github.com/google/uuid v1.6.0
	go.etcd.io/bbolt v1.5.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/julienschmidt/httprouter v1.3.0 // indirect
	github.com/lmittmann/tint v1.2.1 // indirect
	golang.org/x/sys v0.45.0 // indirect
	golang.org/x/tools v0.36.0 // indirect
)
