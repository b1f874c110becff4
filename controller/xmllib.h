/*-------------------------------------------------------------------------
 *
 * xmllib.h
 *	  libxml2, loaded with dlopen() only when an XML file is read or
 *	  written.
 *
 * Linked normally, libxml2 costs every run of pgchange (--version, status,
 * a deploy of a formatted SQL changelog) about a millisecond and 2 MB:
 * Debian's build pulls in ICU and libstdc++.  So the controller is not
 * linked with -lxml2; xmllib_load() opens the library and resolves the
 * functions below into the table xmllib, and each name is a macro that
 * calls through the table.  Callers keep writing libxml2's names, include
 * this header instead of libxml2's headers (types and constants come
 * through it), and call xmllib_load() once before the first call.
 *
 * To use another libxml2 function or variable: add its name to
 * XMLLIB_SYMBOLS and a "#define name XMLLIB_CALL(name)" line below it
 * (include its libxml2 header here if it is a new one).  The build fails
 * if one of the two is missing: the table has no member for an undeclared
 * name, and xmllib.c checks that every member has its macro.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_XMLLIB_H
#define PGCHANGE_XMLLIB_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlwriter.h>

/* The soname opened; libxml2's ABI has been .so.2 since 2000 */
#ifndef XMLLIB_SONAME
#ifdef __APPLE__
#define XMLLIB_SONAME "libxml2.2.dylib"
#else
#define XMLLIB_SONAME "libxml2.so.2"
#endif
#endif

/* Every libxml2 symbol the controller uses, one X(name) each */
#define XMLLIB_SYMBOLS(X) \
	X(xmlCheckVersion) \
	X(xmlCtxtGetLastError) \
	X(xmlCtxtReadFile) \
	X(xmlDocGetRootElement) \
	X(xmlFree) \
	X(xmlFreeDoc) \
	X(xmlFreeParserCtxt) \
	X(xmlGetLineNo) \
	X(xmlNewParserCtxt) \
	X(xmlNodeListGetString) \
	X(xmlNewTextWriterFilename) \
	X(xmlTextWriterSetIndent) \
	X(xmlTextWriterStartDocument) \
	X(xmlTextWriterStartElement) \
	X(xmlTextWriterWriteAttribute) \
	X(xmlTextWriterWriteString) \
	X(xmlTextWriterEndElement) \
	X(xmlTextWriterEndDocument) \
	X(xmlFreeTextWriter)

/*
 * One pointer per symbol, typed from libxml2's own declaration: a function
 * pointer for a function, a pointer to the variable for a variable
 * (xmlFree is a variable holding the deallocator).
 */
typedef struct XmlLib
{
#define XMLLIB_MEMBER(name) __typeof__(name) *p_##name;
	XMLLIB_SYMBOLS(XMLLIB_MEMBER)
#undef XMLLIB_MEMBER
} XmlLib;

extern XmlLib xmllib;

/* A name used through the table, after xmllib_load() */
#define XMLLIB_CALL(name) (*xmllib.p_##name)

#define xmlCheckVersion XMLLIB_CALL(xmlCheckVersion)
#define xmlCtxtGetLastError XMLLIB_CALL(xmlCtxtGetLastError)
#define xmlCtxtReadFile XMLLIB_CALL(xmlCtxtReadFile)
#define xmlDocGetRootElement XMLLIB_CALL(xmlDocGetRootElement)
#define xmlFree XMLLIB_CALL(xmlFree)
#define xmlFreeDoc XMLLIB_CALL(xmlFreeDoc)
#define xmlFreeParserCtxt XMLLIB_CALL(xmlFreeParserCtxt)
#define xmlGetLineNo XMLLIB_CALL(xmlGetLineNo)
#define xmlNewParserCtxt XMLLIB_CALL(xmlNewParserCtxt)
#define xmlNodeListGetString XMLLIB_CALL(xmlNodeListGetString)
#define xmlNewTextWriterFilename XMLLIB_CALL(xmlNewTextWriterFilename)
#define xmlTextWriterSetIndent XMLLIB_CALL(xmlTextWriterSetIndent)
#define xmlTextWriterStartDocument XMLLIB_CALL(xmlTextWriterStartDocument)
#define xmlTextWriterStartElement XMLLIB_CALL(xmlTextWriterStartElement)
#define xmlTextWriterWriteAttribute XMLLIB_CALL(xmlTextWriterWriteAttribute)
#define xmlTextWriterWriteString XMLLIB_CALL(xmlTextWriterWriteString)
#define xmlTextWriterEndElement XMLLIB_CALL(xmlTextWriterEndElement)
#define xmlTextWriterEndDocument XMLLIB_CALL(xmlTextWriterEndDocument)
#define xmlFreeTextWriter XMLLIB_CALL(xmlFreeTextWriter)

/* How to get libxml2, for the hint after a failed xmllib_load() */
#define XMLLIB_INSTALL_HINT \
	"Install libxml2 (Debian and Ubuntu: apt-get install libxml2; " \
	"Red Hat and Fedora: dnf install libxml2), or use a YAML, JSON or formatted SQL changelog."

/*
 * Open libxml2 and resolve every symbol; once that worked, later calls
 * return at once.  On failure *error (if not NULL) says
 * why, including the library's name; nothing is logged.
 */
extern bool xmllib_load(const char **error);

/* The same with another library name: for tests */
extern bool xmllib_load_from(const char *soname, const char **error);

#endif							/* PGCHANGE_XMLLIB_H */
