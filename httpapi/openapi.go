package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/pipeline"
)

// The OpenAPI 3.0 document is built in Go. Response schemas are derived
// from the structs the handlers encode (see schemaOf), so a new field shows
// up in the document without an edit here. Each operation lists every
// status its handler can send; TestOpenAPIMatchesCatalogue fails when a
// route of the catalogue has no operation or the other way round.

// obj is a JSON object of the document.
type obj = map[string]any

// openAPICache holds the encoded document, built on the first request;
// it depends only on the config and the catalogue.
type openAPICache struct {
	once sync.Once
	raw  []byte
	err  error
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.openapi.once.Do(func() {
		s.openapi.raw, s.openapi.err = json.MarshalIndent(s.OpenAPI(), "", "  ")
	})
	if s.openapi.err != nil {
		s.writeError(w, r, fmt.Errorf("encode openapi document: %w", s.openapi.err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openapi.raw)
}

// OpenAPI returns the OpenAPI 3.0 document of the server's routes.
func (s *Server) OpenAPI() map[string]any {
	schemas := obj{}
	reg := &schemaRegistry{schemas: schemas}
	doc := obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "EcomOpti API",
			"version": s.cfg.Version,
			"description": "Retention-campaign planning: churn risk, customer value, uplift and budget optimisation.\n\n" +
				"Errors are JSON objects with a `detail` string; validation errors (422) carry a list of " +
				"`{loc, msg, type}` entries instead. A path that matches no route returns 404 and a wrong " +
				"method returns 405 with an `Allow` header, both with a `detail` string.\n\n" +
				"When the server has an API key (ECOMOPTI_API_KEY), every route except /health, /openapi.json " +
				"and /docs needs `Authorization: Bearer <key>`; without one, the security requirement below is not enforced. " +
				"Browsers on origins listed in ECOMOPTI_CORS_ORIGINS may call the API; preflight OPTIONS " +
				"requests are answered with 204, or 403 for an origin not on the list. Every response carries " +
				"an X-Request-ID header, echoing a valid incoming one.",
		},
		"security": []any{obj{"bearerAuth": []any{}}},
		"paths":    s.openAPIPaths(reg),
		"components": obj{
			"schemas":         schemas,
			"responses":       standardResponses(),
			"securitySchemes": obj{"bearerAuth": obj{"type": "http", "scheme": "bearer", "description": "the value of ECOMOPTI_API_KEY"}},
			"headers": obj{
				"RequestID": obj{"description": "request id: the incoming X-Request-ID when valid, else a generated UUID",
					"schema": obj{"type": "string"}},
			},
		},
	}
	return doc
}

// openAPIPath turns an httprouter pattern into an OpenAPI path template:
// ":name" and "*name" become "{name}".
func openAPIPath(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// openAPIPaths describes each operation. Keys are route patterns of the
// catalogue, converted by openAPIPath.
func (s *Server) openAPIPaths(reg *schemaRegistry) obj {
	jobID := pathParam("job_id", "job id (a UUIDv7)")
	ops := map[string]obj{
		"GET /": op("Service name, version and endpoint catalogue", nil, nil,
			responses(200, "name, version and endpoints", jsonContent(reg.of(reflect.TypeFor[rootResponse]())))),
		"GET /health": op("Readiness of each phase's artifacts and the database", nil, nil,
			responses(200, `"healthy" when the database and all four phases of the latest completed run are ready, else "degraded"`,
				jsonContent(reg.of(reflect.TypeFor[healthResponse]()))),
			public()),
		"HEAD /health": op("Status code of GET /health without the body, for probes that use HEAD", nil, nil,
			responses(200, "always 200 while the server answers; read GET /health for the readiness details", obj{}),
			public()),
		"POST /pipeline/run": op("Start phases 1-4 as a background job", nil, requestBody(runRequestSchema(true)),
			merge(responses(202, "job queued, or the queued or running job with identical parameters",
				jsonContent(reg.of(reflect.TypeFor[runResponse]()))), refs(401, 413, 422))),
		"GET /pipeline/status/:job_id": op("Status, progress, log tail, artifacts and metrics of a job", []any{jobID}, nil,
			merge(responses(200, "the job; metrics are present once it completed",
				jsonContent(reg.of(reflect.TypeFor[statusResponse]()))), refs(401, 404))),
		"GET /pipeline/jobs": op("List jobs, newest first", []any{
			queryParam("status", "only jobs with this status", obj{"type": "string", "enum": statusNames()}),
			queryParam("limit", "page size", obj{"type": "integer", "minimum": 1, "maximum": MaxListLimit, "default": 50}),
			queryParam("before", "cursor: only jobs whose id sorts before this one; pass next_before of the previous page", obj{"type": "string"}),
		}, nil, merge(responses(200, "one page of jobs", jsonContent(reg.object(obj{
			"jobs":        obj{"type": "array", "items": reg.of(reflect.TypeFor[jobs.Job]())},
			"next_before": obj{"type": "string", "description": "cursor of the next page; absent on the last page"},
		}, "jobs"))), refs(401, 422))),
		"POST /pipeline/jobs/:job_id/cancel": op("Cancel a queued or running job", []any{jobID}, nil,
			merge(responses(202, "cancel requested; a running job stops at its next safe point", jsonContent(reg.object(obj{
				"job_id":  obj{"type": "string"},
				"status":  obj{"type": "string", "enum": statusNames()},
				"message": obj{"type": "string"},
			}, "job_id", "status", "message"))), refs(401, 404, 409))),
		"GET /pipeline/jobs/:job_id/log": op("Full log of a job as plain text", []any{jobID}, nil,
			merge(responses(200, "the log file, or the tail kept in the database when the file is gone (see X-Log-Source)",
				obj{"text/plain": obj{"schema": obj{"type": "string"}}}), refs(401, 404))),
		"POST /phase4/optimize": op("Budget optimisation on the latest completed run", nil, requestBody(runRequestSchema(false)),
			merge(responses(200, "the campaign; files are written below the run folder and can be downloaded from GET /files",
				jsonContent(reg.of(reflect.TypeFor[pipeline.OptimizeResult]()))), refs(401, 409, 413, 422, 504))),
		"GET /phase4/campaigns": op("History of optimize calls, newest first", []any{
			queryParam("limit", "page size", obj{"type": "integer", "minimum": 1, "maximum": MaxListLimit, "default": CampaignListLimit}),
			queryParam("before", "cursor: a campaign id; pass next_before of the previous page", obj{"type": "string", "format": "uuid"}),
		}, nil, merge(responses(200, "one page of campaign records", jsonContent(reg.object(obj{
			"campaigns":   obj{"type": "array", "items": reg.of(reflect.TypeFor[campaignResponse]())},
			"next_before": obj{"type": "string", "description": "cursor of the next page; absent on the last page"},
		}, "campaigns"))), refs(401, 422, 501))),
		"GET /phase4/campaigns/:id": op("One recorded optimize call with its files", []any{pathParam("id", "campaign id")}, nil,
			merge(responses(200, "the campaign record", jsonContent(reg.of(reflect.TypeFor[campaignResponse]()))),
				refs(401, 404, 501))),
		"POST /phase4/campaigns/:id/plots": op("Draw the charts of a recorded optimize call", []any{pathParam("id", "campaign id")}, nil,
			merge(responses(200, "the campaign record with the chart files added", jsonContent(reg.of(reflect.TypeFor[campaignResponse]()))),
				refs(401, 404, 409, 501, 504))),
		"GET /files/*path": op("Download an artifact below runs/ or logs/ of the data directory",
			[]any{pathParam("path", "path relative to the data directory, starting with runs/ or logs/; it may contain slashes")}, nil,
			merge(responses(200, "the file; the content type follows the extension", fileContent()), refs(401, 404))),
		"GET /metrics": op("Prometheus metrics in the text exposition format", nil, nil,
			merge(responses(200, "requests, jobs by status, phase durations, solve times, database size",
				obj{"text/plain": obj{"schema": obj{"type": "string"}}}), refs(401))),
		"GET /openapi.json": op("This document", nil, nil,
			responses(200, "OpenAPI 3.0 document", jsonContent(obj{"type": "object"})), public()),
		"GET /docs": op("Interactive API documentation (Swagger UI)", nil, nil,
			responses(200, "HTML page", obj{"text/html": obj{"schema": obj{"type": "string"}}}), public()),
		"GET /docs/:asset": op("Swagger UI scripts and styles used by /docs", []any{pathParam("asset", "file name, such as swagger-ui.css")}, nil,
			merge(responses(200, "the file", obj{"application/octet-stream": obj{"schema": obj{"type": "string", "format": "binary"}}}),
				refs(404)), public()),
		"GET " + BackupRoute: op("Consistent copy of the database file, taken while the server runs", nil, nil,
			merge(responses(200, "a bbolt file; open it with ecomopti db or the bbolt tool",
				obj{"application/octet-stream": obj{"schema": obj{"type": "string", "format": "binary"}}}),
				refs(401, 429, 501))),
	}
	paths := obj{}
	add := func(key string, o obj) {
		method, pattern, _ := strings.Cut(key, " ")
		p := openAPIPath(pattern)
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		item[strings.ToLower(method)] = o
	}
	for key, o := range ops {
		add(key, o)
	}
	for _, rt := range s.catalogue() {
		key := rt.Method + " " + rt.Path
		if o, ok := ops[key]; ok {
			o["summary"] = rt.Summary
			continue
		}
		// A route without a description still appears, marked, so that
		// TestOpenAPIMatchesCatalogue can name it and the document stays valid.
		var params []any
		for _, part := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(part, ":") || strings.HasPrefix(part, "*") {
				params = append(params, pathParam(part[1:], ""))
			}
		}
		add(key, op(rt.Summary, params, nil, obj{"default": obj{"description": "not described yet"}},
			obj{"summary": rt.Summary, "x-undocumented": true}))
	}
	return paths
}

// op builds an operation. Every operation may also return 500.
func op(description string, params []any, body obj, resps obj, extra ...obj) obj {
	resps["500"] = obj{"$ref": "#/components/responses/InternalError"}
	for code, v := range resps {
		r := v.(obj)
		if _, isRef := r["$ref"]; !isRef {
			r["headers"] = obj{"X-Request-ID": obj{"$ref": "#/components/headers/RequestID"}}
		}
		resps[code] = r
	}
	o := obj{"description": description, "responses": resps}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if body != nil {
		o["requestBody"] = body
	}
	for _, e := range extra {
		for k, v := range e {
			o[k] = v
		}
	}
	return o
}

// public marks an operation that needs no API key.
func public() obj { return obj{"security": []any{}} }

func responses(code int, description string, content obj) obj {
	return obj{fmt.Sprint(code): obj{"description": description, "content": content}}
}

func merge(a, b obj) obj {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// standardResponseNames maps an error status to its entry in
// components/responses.
var standardResponseNames = map[int]string{
	401: "Unauthorized",
	404: "NotFound",
	405: "MethodNotAllowed",
	409: "Conflict",
	413: "PayloadTooLarge",
	422: "ValidationError",
	429: "TooManyRequests",
	500: "InternalError",
	501: "NotImplemented",
	504: "Timeout",
}

// refs returns references to the standard error responses.
func refs(codes ...int) obj {
	out := obj{}
	for _, c := range codes {
		out[fmt.Sprint(c)] = obj{"$ref": "#/components/responses/" + standardResponseNames[c]}
	}
	return out
}

func standardResponses() obj {
	detail := jsonContent(obj{
		"type":                 "object",
		"required":             []any{"detail"},
		"additionalProperties": false,
		"properties":           obj{"detail": obj{"type": "string"}},
	})
	validation := jsonContent(obj{
		"type":                 "object",
		"required":             []any{"detail"},
		"additionalProperties": false,
		"properties": obj{"detail": obj{
			"type": "array", "minItems": 1,
			"items": obj{
				"type":                 "object",
				"required":             []any{"loc", "msg", "type"},
				"additionalProperties": false,
				"properties": obj{
					"loc": obj{"type": "array", "items": obj{"oneOf": []any{obj{"type": "string"}, obj{"type": "integer"}}},
						"description": `where the problem is, such as ["body", "budget"] or ["query", "limit"]`},
					"msg":  obj{"type": "string"},
					"type": obj{"type": "string", "description": "error kind, such as missing, enum, value_error or extra_forbidden"},
				},
			},
		}},
	})
	requestID := obj{"X-Request-ID": obj{"$ref": "#/components/headers/RequestID"}}
	return obj{
		"Unauthorized": obj{"description": "missing or wrong API key", "content": detail, "headers": merge(obj{
			"WWW-Authenticate": obj{"schema": obj{"type": "string"}, "description": `Bearer realm="ecomopti"`},
		}, requestID)},
		"NotFound":         obj{"description": "no such job, file or route", "content": detail, "headers": requestID},
		"MethodNotAllowed": obj{"description": "the path exists for other methods, listed in Allow", "content": detail, "headers": requestID},
		"Conflict": obj{"description": "no completed pipeline run yet (optimize), the job already finished (cancel), or the campaign did not complete (plots)",
			"content": detail, "headers": requestID},
		"PayloadTooLarge": obj{"description": fmt.Sprintf("request body over %d bytes", MaxBodyBytes), "content": detail, "headers": requestID},
		"ValidationError": obj{"description": "invalid request: one entry per problem, or a detail string for an infeasible campaign",
			"content": jsonContent(obj{"oneOf": []any{validation["application/json"].(obj)["schema"], detail["application/json"].(obj)["schema"]}}),
			"headers": requestID},
		"InternalError": obj{"description": "unexpected server error; the detail names the request id to look up in the server log",
			"content": detail, "headers": requestID},
		"Timeout":         obj{"description": "the optimisation or chart drawing did not finish within the server's time limit", "content": detail, "headers": requestID},
		"NotImplemented":  obj{"description": "the feature is not available on this server: no campaign history store, or no backup source", "content": detail, "headers": requestID},
		"TooManyRequests": obj{"description": "another backup is being written; retry after the Retry-After seconds", "content": detail, "headers": requestID},
	}
}

// fileContent lists the content types GET /files sends, by file extension.
func fileContent() obj {
	text := obj{"schema": obj{"type": "string"}}
	return obj{
		"text/csv":                 text,
		"text/markdown":            text,
		"text/plain":               text,
		"application/json":         obj{"schema": obj{"description": "a JSON artifact, such as a report or metrics file"}},
		"image/png":                obj{"schema": obj{"type": "string", "format": "binary"}},
		"application/octet-stream": obj{"schema": obj{"type": "string", "format": "binary"}},
	}
}

func jsonContent(schema obj) obj { return obj{"application/json": obj{"schema": schema}} }

func pathParam(name, description string) obj {
	return obj{"name": name, "in": "path", "required": true, "description": description, "schema": obj{"type": "string"}}
}

func queryParam(name, description string, schema obj) obj {
	return obj{"name": name, "in": "query", "required": false, "description": description, "schema": schema}
}

func statusNames() []any {
	out := make([]any, len(jobs.Statuses))
	for i, st := range jobs.Statuses {
		out[i] = string(st)
	}
	return out
}

func stringsAny(list []string) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = v
	}
	return out
}

// runRequestSchema is the body of POST /pipeline/run (withFlags) or POST
// /phase4/optimize. Unknown fields are rejected, as decodeBody does.
func runRequestSchema(withFlags bool) obj {
	props := obj{
		"split": obj{"type": "string", "enum": stringsAny(dataset.Splits), "description": "data split to plan on"},
		"model": obj{"type": "string", "enum": stringsAny(dataset.Models), "default": dataset.ModelEnsemble,
			"description": "uplift model"},
		"budget": obj{"type": "number", "exclusiveMinimum": true, "minimum": 0, "maximum": MaxBudget,
			"default": DefaultBudget, "description": "campaign budget in dollars"},
	}
	if withFlags {
		props["run_sweep"] = obj{"type": "boolean", "default": false, "description": "also solve a sweep of budgets"}
		props["run_scenarios"] = obj{"type": "boolean", "default": false, "description": "also run the cost scenarios"}
	}
	return obj{"type": "object", "required": []any{"split"}, "additionalProperties": false, "properties": props}
}

func requestBody(schema obj) obj {
	return obj{"required": true, "content": jsonContent(schema)}
}

// rootResponse is the body of GET /.
type rootResponse struct {
	Name      string  `json:"name"`
	Version   string  `json:"version"`
	Endpoints []route `json:"endpoints"`
}

// schemaRegistry turns Go types into schemas under components/schemas.
type schemaRegistry struct {
	schemas obj
}

// special holds schemas for types whose JSON form is not their Go shape.
var special = map[reflect.Type]func() obj{
	reflect.TypeFor[time.Time]():       func() obj { return obj{"type": "string", "format": "date-time"} },
	reflect.TypeFor[json.RawMessage](): func() obj { return obj{"description": "any JSON value"} },
	reflect.TypeFor[jobs.Status](): func() obj {
		return obj{"type": "string", "enum": statusNames()}
	},
	reflect.TypeFor[optimize.Segment](): func() obj {
		names := make([]any, len(optimize.Segments))
		for i, sg := range optimize.Segments {
			names[i] = sg.String()
		}
		return obj{"type": "string", "enum": names}
	},
}

// fieldSchemas replace the schema of single fields, keyed by Go type and
// JSON name.
var fieldSchemas = map[string]func() obj{
	// The first transition of a job starts from no status.
	"jobs.Transition.from": func() obj {
		return obj{"type": "string", "enum": append(statusNames(), ""), "description": "empty for the first transition"}
	},
}

// of returns the schema of t: a $ref for named structs, inline otherwise.
func (reg *schemaRegistry) of(t reflect.Type) obj {
	if f, ok := special[t]; ok {
		return f()
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := reg.of(t.Elem())
		return obj{"allOf": []any{s}, "nullable": true}
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		return obj{"type": "array", "items": reg.of(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": reg.of(t.Elem())}
	case reflect.Interface:
		return obj{}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			panic(fmt.Sprintf("openapi: anonymous struct %v needs a named type", t))
		}
		name = schemaName(t)
		if _, ok := reg.schemas[name]; !ok {
			reg.schemas[name] = obj{} // placeholder against recursion
			props, required := obj{}, []any{}
			reg.fields(t, props, &required)
			reg.schemas[name] = reg.object(props, required...)
		}
		return obj{"$ref": "#/components/schemas/" + name}
	}
	panic(fmt.Sprintf("openapi: no schema for %v", t))
}

// object builds a closed object schema.
func (reg *schemaRegistry) object(props obj, required ...any) obj {
	o := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// fields adds the JSON fields of struct t, flattening embedded structs as
// encoding/json does. A field without omitempty is always sent, so it is
// required.
func (reg *schemaRegistry) fields(t reflect.Type, props obj, required *[]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			reg.fields(et, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if override, ok := fieldSchemas[t.String()+"."+name]; ok {
			props[name] = override()
		} else {
			props[name] = reg.of(f.Type)
		}
		if !strings.Contains(opts, "omitempty") && !slices.Contains(*required, any(name)) {
			*required = append(*required, name)
		}
	}
}

// schemaName is the component name of a struct: its package and type name
// in CamelCase, such as JobsJob or PipelineOptimizeResult. Types of this
// package keep their own name with the first letter in upper case.
func schemaName(t reflect.Type) string {
	pkg := t.PkgPath()
	base := pkg[strings.LastIndex(pkg, "/")+1:]
	n := strings.ToUpper(t.Name()[:1]) + t.Name()[1:]
	if base == "httpapi" {
		return n
	}
	return strings.ToUpper(base[:1]) + base[1:] + n
}
