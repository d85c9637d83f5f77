package prepare

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidInput matches every *InputError through errors.Is.
var ErrInvalidInput = errors.New("invalid input")

// maxProblems is the number of problems that an InputError lists. Further
// problems are only counted.
const maxProblems = 20

// Problem is one defect of the input file.
type Problem struct {
	// Line is the physical line of the CSV file, the header being line 1. It
	// is 0 for problems of the whole file, such as an empty file.
	Line int
	// Column is the input column, or empty when the problem is not tied to
	// one column.
	Column string
	// Value is the offending raw value, or empty.
	Value string
	// Message describes the problem and the expected value, for example
	// `invalid value "Maybe", want Yes or No`.
	Message string
}

// String formats the problem as "line 17: Churn: <message>".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Column != "" {
		b.WriteString(p.Column)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// InputError reports the defects of an input file: the first 20 problems in
// file order and the number of further problems.
type InputError struct {
	Problems []Problem
	More     int // problems found beyond those listed
}

// Error lists the problems one per line and ends with what the user should
// do about them.
func (e *InputError) Error() string {
	var b strings.Builder
	total := len(e.Problems) + e.More
	if total == 1 {
		b.WriteString("invalid input file: 1 problem")
	} else {
		fmt.Fprintf(&b, "invalid input file: %d problems", total)
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  and %d more", e.More)
	}
	b.WriteString("\n")
	b.WriteString(e.advice())
	return b.String()
}

// advice returns the closing sentence of Error: row problems ask the user to
// fix or drop rows, problems with the header or the whole file to fix the
// file.
func (e *InputError) advice() string {
	for _, p := range e.Problems {
		if p.Line <= 1 {
			return "fix the file and run again"
		}
	}
	return "fix or remove these rows and run again"
}

// Is reports whether target is ErrInvalidInput.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// problemList collects problems up to maxProblems and counts the rest.
type problemList struct {
	problems []Problem
	more     int
}

func (l *problemList) add(p Problem) {
	if len(l.problems) < maxProblems {
		l.problems = append(l.problems, p)
		return
	}
	l.more++
}

// addf adds a problem with a formatted message.
func (l *problemList) addf(line int, column, value, format string, args ...any) {
	l.add(Problem{Line: line, Column: column, Value: value, Message: fmt.Sprintf(format, args...)})
}

func (l *problemList) empty() bool { return len(l.problems) == 0 }

// err returns the collected problems as an *InputError, or nil when there
// are none.
func (l *problemList) err() error {
	if l.empty() {
		return nil
	}
	return &InputError{Problems: l.problems, More: l.more}
}

// fileError returns an InputError with a single problem of the whole file.
func fileError(format string, args ...any) error {
	return &InputError{Problems: []Problem{{Message: fmt.Sprintf(format, args...)}}}
}
