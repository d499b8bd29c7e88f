#pragma once
// Build configuration shared by every engine header: the namespace and the inlining macro.
//
// VASHRINK_NAMESPACE (default `vashrink`) is the namespace all engine code lives in. A plugin that
// embeds its own copy of the headers can define it to a unique single identifier (e.g.
// -DVASHRINK_NAMESPACE=myplugin_vashrink, on the plugin's target: it must be the same in every
// translation unit of that binary), so two plugins built against different engine versions and
// loaded into one host never share a mangled symbol. With a custom name the headers also declare
// the namespace alias `vashrink` -> VASHRINK_NAMESPACE, so `vashrink::ModelT<...>` (what generated
// headers emit) keeps compiling; an alias has no linkage, symbols carry the real name. Define
// VASHRINK_NO_NAMESPACE_ALIAS to leave the name `vashrink` free.

#ifndef VASHRINK_NAMESPACE
#  define VASHRINK_NAMESPACE vashrink
#endif

// Token-pasting test "is VASHRINK_NAMESPACE the identifier vashrink?" (undefined names are 0).
#define VASHRINK_DETAIL_NS_IS_vashrink 1
#define VASHRINK_DETAIL_CAT(a, b) a##b
#define VASHRINK_DETAIL_XCAT(a, b) VASHRINK_DETAIL_CAT(a, b)
#if !VASHRINK_DETAIL_XCAT(VASHRINK_DETAIL_NS_IS_, VASHRINK_NAMESPACE) && \
    !defined(VASHRINK_NO_NAMESPACE_ALIAS) && !defined(VASHRINK_DETAIL_ALIAS_DECLARED)
#  define VASHRINK_DETAIL_ALIAS_DECLARED 1
namespace VASHRINK_NAMESPACE {}
namespace vashrink = VASHRINK_NAMESPACE;
#endif

#if !defined(VASHRINK_INLINE)
#  if defined(__GNUC__)
#    define VASHRINK_INLINE inline __attribute__((always_inline))
#  else
#    define VASHRINK_INLINE inline
#  endif
#endif
