// Conformance oracle: runs Groovy programs on the real Groovy (2.4.21, the
// version Jenkins embeds) and records what each one prints, so Gantry's own
// interpreter can be compared with it.
//
//   groovy tests/groovy/oracle.groovy OUTFILE FILE...
//
// One JVM for the whole run. Each FILE is compiled in a fresh GroovyShell as a
// script class named Script1 (so messages such as "No such property: x for
// class: Script1" do not depend on the file name) and run in its own thread
// with System.out redirected to a buffer; println in scripts and in classes
// they define both land there. An uncaught Throwable appends
// "Caught: " + throwable.toString(), a compilation failure appends
// "Compile error: " + the first line of the message, and a program still
// running after the time limit appends "Timeout". OUTFILE is a JSON object
// {FILE: output, ...}, one entry per line, in argument order.

import groovy.json.JsonOutput
import org.codehaus.groovy.control.CompilationFailedException

final long TIMEOUT_MS = 5000

if (args.length < 1) {
  System.err.println('usage: groovy oracle.groovy OUTFILE FILE...')
  System.exit(2)
}

def realOut = System.out
def results = new LinkedHashMap<String, String>()

for (String file : args.drop(1)) {
  String text = new File(file).getText('UTF-8')
  def buffer = new ByteArrayOutputStream()
  def capture = new PrintStream(buffer, true, 'UTF-8')
  String tail = ''
  Script script = null
  try {
    script = new GroovyShell().parse(text, 'Script1')
  } catch (CompilationFailedException e) {
    // The message opens with "startup failed:"; the first error follows.
    def first = (e.message ?: '').readLines().findAll { it.trim() && it != 'startup failed:' }
    tail = 'Compile error: ' + (first ? first[0] : '') + '\n'
  }
  if (script != null) {
    Throwable failure = null
    def worker = new Thread({
      try {
        script.run()
      } catch (Throwable t) {
        failure = t
      }
    } as Runnable)
    System.setOut(capture)
    try {
      worker.start()
      worker.join(TIMEOUT_MS)
      if (worker.isAlive()) {
        worker.stop()
        worker.join(1000)
        failure = null
        tail = 'Timeout\n'
      }
    } finally {
      System.out.flush()
      System.setOut(realOut)
    }
    if (failure != null) tail = 'Caught: ' + failure.toString() + '\n'
  }
  capture.flush()
  results[file] = buffer.toString('UTF-8') + tail
}

def lines = results.collect { k, v -> '  ' + JsonOutput.toJson(k) + ': ' + JsonOutput.toJson(v) }
new File(args[0]).setText('{\n' + lines.join(',\n') + '\n}\n', 'UTF-8')
